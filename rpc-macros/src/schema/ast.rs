//! The typed model of a `#[derive(Schema)]` item: the container, its
//! variants and fields with the names serde writes for them (after
//! `rename` and `rename_all`) and their attributes.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{
    DeriveInput, Fields, Generics, Ident, Path, ext::IdentExt, parse_quote, spanned::Spanned,
};

use super::{
    attr::{self, Attrs, Place},
    case::Rule,
};
use crate::errors::Errors;

/// The item the derive is on.
pub(crate) struct Container {
    pub(crate) ident: Ident,
    pub(crate) generics: Generics,
    pub(crate) attrs: Attrs,
    pub(crate) data: Data,
}

/// A struct's fields or an enum's variants.
pub(crate) enum Data {
    Struct(Style, Vec<Field>),
    Enum(Vec<Variant>),
    /// A union, refused: serde has no encoding for one.
    Union(Span),
}

/// How a struct or a variant holds its fields, as serde tells them apart:
/// one unnamed field is a newtype, not a tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Unit,
    Newtype,
    Tuple,
    Struct,
}

pub(crate) struct Variant {
    pub(crate) ident: Ident,
    /// The name serde writes.
    pub(crate) name: String,
    /// serde's `variant_index`: the position as declared, skipped variants
    /// included.
    pub(crate) index: u32,
    pub(crate) attrs: Attrs,
    pub(crate) style: Style,
    pub(crate) fields: Vec<Field>,
}

pub(crate) struct Field {
    /// The name serde writes; the position for unnamed fields.
    pub(crate) name: String,
    pub(crate) ty: syn::Type,
    pub(crate) attrs: Attrs,
    /// The field's tokens, for errors.
    pub(crate) span: Span,
}

impl Container {
    /// The model of `input`; errors in `#[schema(..)]` go to `errors`.
    pub(crate) fn parse(input: DeriveInput, errors: &mut Errors) -> Container {
        let attrs = attr::parse(&input.attrs, Place::Container, errors);
        let data = match input.data {
            syn::Data::Struct(data) => {
                let (style, fields) = fields(data.fields, attrs.rename_all, errors);
                Data::Struct(style, fields)
            }
            syn::Data::Enum(data) => Data::Enum(
                data.variants
                    .into_iter()
                    .zip(0u32..)
                    .map(|(variant, index)| {
                        let variant_attrs = attr::parse(&variant.attrs, Place::Variant, errors);
                        let name = variant_attrs.rename.clone().unwrap_or_else(|| {
                            let ident = variant.ident.unraw().to_string();
                            attrs
                                .rename_all
                                .map_or_else(|| ident.clone(), |rule| rule.variant(&ident))
                        });
                        let rule = variant_attrs.rename_all.or(attrs.rename_all_fields);
                        let (style, fields) = fields(variant.fields, rule, errors);
                        Variant {
                            ident: variant.ident,
                            name,
                            index,
                            attrs: variant_attrs,
                            style,
                            fields,
                        }
                    })
                    .collect(),
            ),
            syn::Data::Union(data) => Data::Union(data.union_token.span),
        };
        Container {
            ident: input.ident,
            generics: input.generics,
            attrs,
            data,
        }
    }

    /// The path generated code names the runtime's schema module by:
    /// `::rpc::__private::rpc_core::schema`, or through `crate = "..."`.
    pub(crate) fn schema_path(&self) -> TokenStream {
        let krate: Path = self
            .attrs
            .krate
            .clone()
            .unwrap_or_else(|| parse_quote!(::rpc));
        quote!(#krate::__private::rpc_core::schema)
    }

    /// The path of the `vec!` macro generated code uses.
    pub(crate) fn private_path(&self) -> TokenStream {
        let krate: Path = self
            .attrs
            .krate
            .clone()
            .unwrap_or_else(|| parse_quote!(::rpc));
        quote!(#krate::__private)
    }
}

/// The fields of a struct or a variant, named as serde names them under
/// `rule`.
fn fields(fields: Fields, rule: Option<Rule>, errors: &mut Errors) -> (Style, Vec<Field>) {
    let style = match &fields {
        Fields::Unit => Style::Unit,
        Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => Style::Newtype,
        Fields::Unnamed(_) => Style::Tuple,
        Fields::Named(_) => Style::Struct,
    };
    let fields = fields
        .into_iter()
        .enumerate()
        .map(|(position, field)| {
            let attrs = attr::parse(&field.attrs, Place::Field, errors);
            let name = match (&attrs.rename, &field.ident) {
                (Some(rename), _) => rename.clone(),
                (None, Some(ident)) => {
                    let ident = ident.unraw().to_string();
                    rule.map_or_else(|| ident.clone(), |rule| rule.field(&ident))
                }
                (None, None) => position.to_string(),
            };
            Field {
                name,
                span: field.span(),
                ty: field.ty,
                attrs,
            }
        })
        .collect();
    (style, fields)
}
