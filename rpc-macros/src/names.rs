//! Text the metadata carries: type names as a person writes them, and doc
//! comments as their text.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Attribute, Expr, ExprLit, Lit, Meta};

/// `tokens` printed the way rustfmt would write a type:
/// `Vec<String>`, `Result<i64, DivError>`, `(u8, [u8; 4])`.
pub(crate) fn type_name(tokens: &impl ToTokens) -> String {
    let mut out = String::new();
    write_tokens(&mut out, tokens.to_token_stream());
    out
}

fn write_tokens(out: &mut String, tokens: TokenStream) {
    for token in tokens {
        match token {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{ ", " }"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                let mut inner = String::new();
                write_tokens(&mut inner, group.stream());
                out.push_str(inner.trim_end());
                out.push_str(close);
            }
            TokenTree::Ident(ident) => {
                space_between_words(out);
                out.push_str(&ident.to_string());
            }
            TokenTree::Literal(literal) => {
                space_between_words(out);
                out.push_str(&literal.to_string());
            }
            TokenTree::Punct(punct) => match punct.as_char() {
                ',' | ';' => {
                    out.push(punct.as_char());
                    out.push(' ');
                }
                '=' | '+' => {
                    out.push(' ');
                    out.push(punct.as_char());
                    out.push(' ');
                }
                c => out.push(c),
            },
        }
    }
}

/// Separates two words (`dyn Trait`, `&'a str`, `mut T`).
fn space_between_words(out: &mut String) {
    if out.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
        out.push(' ');
    }
}

/// The text of `#[doc = "..."]` attributes (`///` comments), one line each,
/// with the space after `///` removed and surrounding blank lines trimmed.
pub(crate) fn doc_text(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = doc_attrs(attrs)
        .filter_map(|attr| match &attr.meta {
            Meta::NameValue(meta) => match &meta.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(text),
                    ..
                }) => Some(text.value()),
                _ => None,
            },
            _ => None,
        })
        .flat_map(|text| {
            text.split('\n')
                .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    lines.join("\n").trim_matches('\n').to_owned()
}

/// The `#[doc]` attributes among `attrs`.
pub(crate) fn doc_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|attr| attr.path().is_ident("doc"))
}

#[cfg(test)]
mod tests {
    use syn::{Type, parse_quote};

    use super::*;

    #[test]
    fn types_print_as_written() {
        let cases: [(Type, &str); 7] = [
            (parse_quote!(i64), "i64"),
            (parse_quote!(Vec<String>), "Vec<String>"),
            (parse_quote!(Result<i64, DivError>), "Result<i64, DivError>"),
            (
                parse_quote!(std::collections::HashMap<String, Vec<u8>>),
                "std::collections::HashMap<String, Vec<u8>>",
            ),
            (parse_quote!((u8, [u8; 4])), "(u8, [u8; 4])"),
            (parse_quote!(Box<dyn Error + Send>), "Box<dyn Error + Send>"),
            (parse_quote!(Cow<'static, str>), "Cow<'static, str>"),
        ];
        for (ty, expected) in cases {
            assert_eq!(type_name(&ty), expected);
        }
    }

    #[test]
    fn docs_lose_the_comment_space_and_blank_edges() {
        let attrs: Vec<Attribute> = vec![
            parse_quote!(#[doc = ""]),
            parse_quote!(#[doc = " Adds two numbers."]),
            parse_quote!(#[doc = ""]),
            parse_quote!(#[doc = "  Indented stays indented."]),
            parse_quote!(#[inline]),
        ];
        assert_eq!(
            doc_text(&attrs),
            "Adds two numbers.\n\n Indented stays indented."
        );
    }
}
