//! What a schema cannot describe, refused with an error that says what to
//! write instead: serde layouts postcard cannot encode, values written by
//! the user's own code without `#[schema(as = ..)]`, and skips that make
//! serde write and read different positions. All errors are collected.

use quote::ToTokens;

use super::{
    ast::{Container, Data, Field, Style, Variant},
    attr::Attrs,
};
use crate::errors::Errors;

/// Every check of `container`.
pub(crate) fn container(container: &Container, errors: &mut Errors) {
    let attrs = &container.attrs;
    layout(attrs, errors);
    if attrs.as_type.is_none() {
        custom(attrs, "the type", errors);
    }
    match &container.data {
        Data::Union(span) => errors.push(syn::Error::new(
            *span,
            "#[derive(Schema)] describes structs and enums; serde has no encoding for a union: make it an enum",
        )),
        Data::Struct(style, fields) => {
            fields_of(*style, fields, errors);
            if let Some(transparent) = &attrs.transparent
                && attrs.as_type.is_none()
                && fields.iter().filter(|field| !field.attrs.skipped()).count() != 1
            {
                errors.spanned(
                    transparent,
                    "#[serde(transparent)] needs exactly one field that is not skipped",
                );
            }
        }
        Data::Enum(variants) => {
            for variant in variants {
                self::variant(variant, errors);
            }
            skipped_variants(variants, errors);
        }
    }
}

/// `tag`, `content`, `untagged`, `flatten`.
fn layout(attrs: &Attrs, errors: &mut Errors) {
    for key in &attrs.layout {
        let message = if key.is_ident("flatten") {
            "postcard cannot encode #[serde(flatten)]: it makes serde write a map of unknown length; remove `flatten` and keep the struct as a field of its own"
        } else if key.is_ident("untagged") {
            "postcard needs externally tagged enums: it writes the variant's index before its content; remove #[serde(untagged)]"
        } else if key.is_ident("content") {
            "postcard needs externally tagged enums: it writes the variant's index before its content; remove #[serde(tag, content)]"
        } else {
            "postcard needs externally tagged enums: it writes the variant's index before its content; remove #[serde(tag)]"
        };
        errors.spanned(key, message);
    }
}

/// `with` and friends, at an item without `#[schema(as = ..)]`.
fn custom(attrs: &Attrs, what: &str, errors: &mut Errors) {
    for key in &attrs.custom {
        let key_name = key.to_token_stream().to_string();
        let hint = if key.is_ident("from") || key.is_ident("into") || key.is_ident("try_from") {
            format!("add #[schema(as = T)] to {what}, T being the type it converts through")
        } else {
            format!(
                "add #[schema(as = T)] to {what}, T being a type that serializes the same way (#[schema(as = rpc::schema::RawBytes)] for serde_bytes)"
            )
        };
        errors.spanned(
            key,
            format!(
                "#[serde({key_name})] writes the value with code the schema cannot see: {hint}"
            ),
        );
    }
}

fn variant(variant: &Variant, errors: &mut Errors) {
    layout(&variant.attrs, errors);
    if variant.attrs.as_type.is_none() {
        custom(&variant.attrs, "the variant", errors);
        fields_of(variant.style, &variant.fields, errors);
    }
}

fn fields_of(style: Style, fields: &[Field], errors: &mut Errors) {
    for field in fields {
        let attrs = &field.attrs;
        layout(attrs, errors);
        if attrs.skipped() {
            if style == Style::Newtype {
                errors.push(syn::Error::new(
                    field.span,
                    "serde does not skip the only field of a newtype: remove #[serde(skip)], or make it a unit",
                ));
            }
            continue;
        }
        if attrs.as_type.is_none() {
            custom(attrs, "the field", errors);
        }
        if let Some(key) = attrs.skip_serializing_if.as_ref() {
            errors.spanned(
                key,
                "postcard writes fields by position without names, so a field serde leaves out of some values shifts the rest: remove #[serde(skip_serializing_if)], or skip the field always with #[serde(skip)]",
            );
        }
        if let Some(key) = attrs
            .skip_serializing
            .as_ref()
            .or(attrs.skip_deserializing.as_ref())
        {
            errors.spanned(
                key,
                "postcard writes fields by position without names, so a field skipped one way only shifts the rest: skip it both ways with #[serde(skip)]",
            );
        }
    }
}

/// serde writes a variant's declared position but reads its position
/// among the variants it deserializes: after one it does not read, the
/// two differ, and a value would come back as another variant.
fn skipped_variants(variants: &[Variant], errors: &mut Errors) {
    let last_read = variants
        .iter()
        .rposition(|variant| !variant.attrs.skips_deserializing());
    let Some(last_read) = last_read else {
        return;
    };
    for variant in &variants[..last_read] {
        if variant.attrs.skips_deserializing() {
            errors.spanned(
                &variant.ident,
                format!(
                    "serde writes a variant's declared position but reads its position among the variants it does not skip, so the variants after `{}` would come back as others: move the skipped variant after the last one that is not skipped",
                    variant.ident
                ),
            );
        }
    }
}
