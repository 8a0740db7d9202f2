//! The `where` clause of the impl: the user's, plus `T: Schema` for each
//! type parameter a described type mentions, as serde adds `T: Serialize`
//! (a parameter seen only inside `PhantomData` needs none).

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use syn::{Generics, Ident, TypePath, parse_quote, visit::Visit};

/// `generics` with `T: Schema` added for each type parameter that one of
/// `described` mentions.
pub(crate) fn with_bounds<'a>(
    generics: &Generics,
    described: impl IntoIterator<Item = &'a syn::Type>,
    schema: &TokenStream,
) -> Generics {
    let params: BTreeSet<Ident> = generics
        .type_params()
        .map(|param| param.ident.clone())
        .collect();
    let mut finder = Finder {
        params: &params,
        used: BTreeSet::new(),
    };
    for ty in described {
        finder.visit_type(ty);
    }
    // In declaration order, for a readable expansion.
    let bounded: Vec<Ident> = generics
        .type_params()
        .map(|param| param.ident.clone())
        .filter(|ident| finder.used.contains(ident))
        .collect();
    let mut generics = generics.clone();
    if !bounded.is_empty() {
        let where_clause = generics.make_where_clause();
        for param in bounded {
            where_clause
                .predicates
                .push(parse_quote!(#param: #schema::Schema));
        }
    }
    generics
}

/// Collects the type parameters a type mentions.
struct Finder<'a> {
    params: &'a BTreeSet<Ident>,
    used: BTreeSet<Ident>,
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_type_path(&mut self, path: &'ast TypePath) {
        if path
            .path
            .segments
            .last()
            .is_some_and(|last| last.ident == "PhantomData")
        {
            return;
        }
        if path.qself.is_none()
            && let Some(first) = path.path.segments.first()
            && self.params.contains(&first.ident)
        {
            self.used.insert(first.ident.clone());
        }
        syn::visit::visit_type_path(self, path);
    }
}

#[cfg(test)]
mod tests {
    use quote::{ToTokens, quote};

    use super::*;

    #[test]
    fn bounds_the_parameters_fields_mention_in_declaration_order() {
        let generics: Generics = parse_quote!(<'a, K, T: Clone, U, M>);
        let described: [syn::Type; 3] = [
            parse_quote!(Vec<T>),
            parse_quote!(std::collections::BTreeMap<K, &'a str>),
            parse_quote!(std::marker::PhantomData<U>),
        ];
        let bounded = with_bounds(&generics, &described, &quote!(s));
        assert_eq!(
            bounded.where_clause.to_token_stream().to_string(),
            "where K : s :: Schema , T : s :: Schema"
        );
    }
}
