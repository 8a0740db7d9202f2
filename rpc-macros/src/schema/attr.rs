//! The attributes a schema reads on the type, each variant and each field:
//! serde's, which decide what goes on the wire, and `#[schema(..)]`.
//!
//! serde's attributes that leave the data alone (`default`, `alias`,
//! `bound`, ...) are read past; malformed serde attributes are left for
//! serde to report, so the user sees each mistake once. This pass only
//! records what it saw: `check` decides what is refused.

use syn::{
    Attribute, Expr, LitStr, Path, Token, Type,
    ext::IdentExt,
    meta::ParseNestedMeta,
    parenthesized,
    parse::{ParseStream, Parser},
    token,
};

use super::case::Rule;
use crate::{errors::Errors, names};

/// Where the attributes sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Container,
    Variant,
    Field,
}

/// What the attributes of one item say. A serde key that changes the data
/// is kept as its path, for the errors to point at.
#[derive(Default)]
pub(crate) struct Attrs {
    /// The doc comment.
    pub(crate) docs: String,
    /// `rename = "..."`, or the `serialize` one of `rename(..)`.
    pub(crate) rename: Option<String>,
    /// `rename_all`: of the fields (a struct, a struct variant) or of the
    /// variants (an enum).
    pub(crate) rename_all: Option<Rule>,
    /// An enum's `rename_all_fields`: of its struct variants' fields.
    pub(crate) rename_all_fields: Option<Rule>,
    pub(crate) transparent: Option<Path>,
    /// `skip`: left out both ways.
    pub(crate) skip: bool,
    pub(crate) skip_serializing: Option<Path>,
    pub(crate) skip_deserializing: Option<Path>,
    pub(crate) skip_serializing_if: Option<Path>,
    /// `tag`, `content`, `untagged`, `flatten`: layouts postcard cannot
    /// carry.
    pub(crate) layout: Vec<Path>,
    /// `with`, `serialize_with`, `deserialize_with`, `from`, `into`,
    /// `try_from`: the user's code writes the value, so its shape is
    /// whatever `#[schema(as = ..)]` says.
    pub(crate) custom: Vec<Path>,
    /// `#[schema(as = Type)]`: describe this as `Type`.
    pub(crate) as_type: Option<Type>,
    /// `#[schema(crate = "...")]`: the path of the `rpc` crate.
    pub(crate) krate: Option<Path>,
}

impl Attrs {
    /// Left out both ways: absent from the schema.
    pub(crate) fn skipped(&self) -> bool {
        self.skip || (self.skip_serializing.is_some() && self.skip_deserializing.is_some())
    }

    /// Not read back: `skip` or `skip_deserializing`.
    pub(crate) fn skips_deserializing(&self) -> bool {
        self.skip || self.skip_deserializing.is_some()
    }
}

/// Serde keys whose value is code of the user's that writes or reads the
/// value.
const CUSTOM: [&str; 6] = [
    "with",
    "serialize_with",
    "deserialize_with",
    "from",
    "into",
    "try_from",
];

/// Serde keys of layouts postcard cannot carry.
const LAYOUT: [&str; 4] = ["tag", "content", "untagged", "flatten"];

/// Reads the attributes of an item at `place`; errors in `#[schema(..)]`
/// go to `errors`.
pub(crate) fn parse(attrs: &[Attribute], place: Place, errors: &mut Errors) -> Attrs {
    let mut out = Attrs {
        docs: names::doc_text(attrs),
        ..Attrs::default()
    };
    for attr in attrs {
        if attr.path().is_ident("serde") {
            // A malformed serde attribute is serde's to report.
            let _ = attr.parse_nested_meta(|meta| serde_key(&mut out, &meta));
        } else if attr.path().is_ident("schema")
            && let Err(error) = attr.parse_nested_meta(|meta| schema_key(&mut out, place, &meta))
        {
            errors.push(error);
        }
    }
    out
}

fn serde_key(out: &mut Attrs, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let path = &meta.path;
    let key = path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();
    match key.as_str() {
        "rename" => out.rename = serialize_value(meta)?.map(|lit| lit.value()),
        "rename_all" => {
            out.rename_all = serialize_value(meta)?.and_then(|lit| Rule::parse(&lit.value()));
        }
        "rename_all_fields" => {
            out.rename_all_fields =
                serialize_value(meta)?.and_then(|lit| Rule::parse(&lit.value()));
        }
        "transparent" => out.transparent = Some(path.clone()),
        "skip" => out.skip = true,
        "skip_serializing" => out.skip_serializing = Some(path.clone()),
        "skip_deserializing" => out.skip_deserializing = Some(path.clone()),
        "skip_serializing_if" => {
            out.skip_serializing_if = Some(path.clone());
            skip_value(meta)?;
        }
        key if LAYOUT.contains(&key) => {
            out.layout.push(path.clone());
            skip_value(meta)?;
        }
        key if CUSTOM.contains(&key) => {
            out.custom.push(path.clone());
            skip_value(meta)?;
        }
        _ => skip_value(meta)?,
    }
    Ok(())
}

/// The string of `key = "..."`, or of `serialize = "..."` in
/// `key(serialize = "...", deserialize = "...")`: the wire is what is
/// serialized.
fn serialize_value(meta: &ParseNestedMeta<'_>) -> syn::Result<Option<LitStr>> {
    if meta.input.peek(Token![=]) {
        return meta.value()?.parse().map(Some);
    }
    let mut found = None;
    if meta.input.peek(token::Paren) {
        meta.parse_nested_meta(|inner| {
            if inner.path.is_ident("serialize") {
                found = Some(inner.value()?.parse()?);
                Ok(())
            } else {
                skip_value(&inner)
            }
        })?;
    }
    Ok(found)
}

/// Reads past the value of a key: `= expr`, `(..)` or nothing.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(token::Paren) {
        let parser = |input: ParseStream<'_>| {
            let content;
            parenthesized!(content in input);
            content.parse::<proc_macro2::TokenStream>()
        };
        parser(meta.input)?;
    }
    Ok(())
}

fn schema_key(out: &mut Attrs, place: Place, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.path.is_ident("as") {
        if out.as_type.is_some() {
            return Err(meta.error("`as` is given twice; keep one"));
        }
        let value = meta.value()?;
        out.as_type = Some(value.parse::<Type>().map_err(|err| {
            syn::Error::new(
                err.span(),
                "expected a type: #[schema(as = rpc::schema::RawBytes)]",
            )
        })?);
        return Ok(());
    }
    if meta.path.is_ident("crate") && place == Place::Container {
        if out.krate.is_some() {
            return Err(meta.error("`crate` is given twice; keep one"));
        }
        let lit: LitStr = meta.value()?.parse().map_err(|err| {
            syn::Error::new(
                err.span(),
                "expected the path of the rpc crate as a string: crate = \"::rpc\"",
            )
        })?;
        let path = Parser::parse_str(Path::parse_mod_style, &lit.value()).map_err(|_| {
            syn::Error::new_spanned(
                &lit,
                format!(
                    "`{}` is not a path: write the path the rpc crate is reached by, such as crate = \"::my_rpc\"",
                    lit.value()
                ),
            )
        })?;
        out.krate = Some(path);
        return Ok(());
    }
    let key = meta.path.get_ident().map_or_else(
        || "this option".to_owned(),
        |ident| format!("`{}`", ident.unraw()),
    );
    let valid = match place {
        Place::Container => "the options are `as = Type` and `crate = \"...\"`",
        Place::Variant | Place::Field => {
            "the option here is `as = Type` (`crate = \"...\"` goes on the type)"
        }
    };
    Err(syn::Error::new_spanned(
        &meta.path,
        format!("unknown option {key} of #[schema]; {valid}"),
    ))
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn parse_ok(attrs: &[Attribute], place: Place) -> Attrs {
        let mut errors = Errors::default();
        let parsed = parse(attrs, place, &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.into_messages());
        parsed
    }

    #[test]
    fn reads_what_changes_the_data_and_reads_past_the_rest() {
        let attrs: Vec<Attribute> = vec![
            parse_quote!(#[doc = " A point."]),
            parse_quote!(#[serde(default, bound(serialize = "T: Clone"), deny_unknown_fields)]),
            parse_quote!(#[serde(rename(serialize = "out", deserialize = "in"), alias = "x")]),
            parse_quote!(#[serde(rename_all = "camelCase", skip_serializing_if = "Option::is_none")]),
            parse_quote!(#[serde(default = "make", with = "serde_bytes", tag = "kind")]),
            parse_quote!(#[schema(as = Vec<u8>)]),
        ];
        let parsed = parse_ok(&attrs, Place::Field);
        assert_eq!(parsed.docs, "A point.");
        assert_eq!(parsed.rename.as_deref(), Some("out"));
        assert_eq!(parsed.rename_all, Some(Rule::Camel));
        assert!(parsed.skip_serializing_if.is_some());
        assert_eq!(parsed.custom.len(), 1);
        assert_eq!(parsed.layout.len(), 1);
        assert!(parsed.as_type.is_some());
        assert!(!parsed.skipped());
    }

    #[test]
    fn skips_both_ways_in_either_spelling() {
        let skip = parse_ok(&[parse_quote!(#[serde(skip)])], Place::Field);
        assert!(skip.skipped() && skip.skips_deserializing());
        let both = parse_ok(
            &[parse_quote!(#[serde(skip_serializing, skip_deserializing)])],
            Place::Field,
        );
        assert!(both.skipped());
        let one = parse_ok(&[parse_quote!(#[serde(skip_serializing)])], Place::Field);
        assert!(!one.skipped() && !one.skips_deserializing());
    }

    #[test]
    fn bad_schema_options_say_what_to_write() {
        let cases: [(Attribute, Place, &str); 4] = [
            (
                parse_quote!(#[schema(name = "x")]),
                Place::Container,
                "unknown option `name` of #[schema]; the options are `as = Type` and `crate = \"...\"`",
            ),
            (
                parse_quote!(#[schema(crate = "rpc")]),
                Place::Field,
                "unknown option `crate` of #[schema]; the option here is `as = Type` (`crate = \"...\"` goes on the type)",
            ),
            (
                parse_quote!(#[schema(crate = "my rpc")]),
                Place::Container,
                "`my rpc` is not a path: write the path the rpc crate is reached by, such as crate = \"::my_rpc\"",
            ),
            (
                parse_quote!(#[schema(as = u8, as = u16)]),
                Place::Field,
                "`as` is given twice; keep one",
            ),
        ];
        for (attr, place, expected) in cases {
            let mut errors = Errors::default();
            parse(&[attr], place, &mut errors);
            assert_eq!(errors.into_messages(), [expected]);
        }
    }
}
