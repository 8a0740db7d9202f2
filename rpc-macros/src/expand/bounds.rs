//! Trait bounds on the user's types, reported where the types are written.
//!
//! Arguments and answers are checked where they are encoded and decoded,
//! once per type and direction (`wire`); stream items and uploads where the
//! stream is sent and received, located at the item type. For error types,
//! which also need `Display`, the `const _` block references
//! `assert_error::<E>`, whose bound is a trait of `rpc::stub` with a
//! `#[diagnostic::on_unimplemented]` message saying what to derive. The dispatch code that needs the same bounds is located at
//! the same types where it can be (`located_at`), so most follow-on errors
//! point there too instead of at `#[rpc::router]`; being in the macro's own
//! context, that code is still exempt from the user's lints.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::Type;

use crate::ast::{Return, Router, Shape};

/// One check per wire type of every method.
pub(super) fn assertions(router: &Router) -> TokenStream {
    let p = super::local();
    let check = |ty: &Type, assertion: TokenStream| {
        let p = respan(&p, at(ty));
        quote_spanned! {at(ty)=>
            let _ = #p::rpc_core::stub::#assertion::<#ty>;
        }
    };
    let mut checks = TokenStream::new();
    // Arguments and answers are checked where they are encoded and decoded
    // (`wire`), once each.
    for method in &router.methods {
        match (&method.items, method.shape()) {
            (Some(items), Shape::ServerStream | Shape::Bidirectional) => {
                if let Some((_, err)) = &items.fallible {
                    checks.extend(check(err, quote!(assert_error)));
                }
                if let Some(err) = &items.refusal {
                    checks.extend(check(err, quote!(assert_error)));
                }
            }
            _ => {
                if let Return::Result { err, .. } = &method.ret {
                    checks.extend(check(err, quote!(assert_error)));
                }
            }
        }
    }
    checks
}

/// Where decoding the argument tuple is located: at the argument's type
/// when there is one; with several, a failing bound could be any one's, so
/// at the attribute (the check functions point at the culprit).
pub(super) fn decode_span<'a>(types: impl Iterator<Item = &'a Type>) -> Span {
    let types: Vec<&Type> = types.collect();
    match &types[..] {
        [only] => at(only),
        _ => Span::call_site(),
    }
}

/// A span in the macro's context located at the first token of `tokens`.
pub(super) fn at(tokens: &impl ToTokens) -> Span {
    let first = tokens
        .to_token_stream()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |token| token.span());
    Span::call_site().located_at(first)
}

/// `tokens` with every span set to `span`: a path such as the runtime's,
/// interpolated into `quote_spanned!`, keeps its own spans otherwise, and
/// the compiler would then point from the attribute to the located tokens.
pub(super) fn respan(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), respan(&group.stream(), span));
                inner.set_span(span);
                return TokenTree::Group(inner);
            }
            token.set_span(span);
            token
        })
        .collect()
}
