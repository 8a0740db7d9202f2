//! Checks on the item the attribute is on. `#[rpc::router]` wants an
//! inherent, non-generic impl block with at least one marked method;
//! `#[rpc::service]` a non-generic trait holding only marked methods,
//! declared without bodies: the trait is the contract both sides share, so
//! everything in it is served, stubbed and described.

use quote::quote;
use syn::{ItemImpl, ItemTrait, TraitItem};

use crate::{
    ast::{Form, Router},
    errors::Errors,
};

pub(super) fn check(router: &Router, errors: &mut Errors) {
    match &router.form {
        Form::Impl(item) => impl_block(router, item, errors),
        Form::Trait(item) => trait_block(router, item, errors),
    }
}

fn impl_block(router: &Router, item: &ItemImpl, errors: &mut Errors) {
    if let Some((_, path, for_token)) = &item.trait_ {
        let service = path
            .segments
            .last()
            .map_or_else(|| "Service".to_owned(), |last| last.ident.to_string());
        errors.spanned(
            quote!(#path #for_token),
            format!(
                "#[rpc::router] goes on an inherent impl block: write `impl {} {{ .. }}` with the methods to serve, not a trait implementation (an implementation of a #[rpc::service] trait needs no attribute: mount it as `{service}Router::new(..)`)",
                router.name
            ),
        );
    }
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        errors.spanned(
            &item.generics,
            "#[rpc::router] does not support generic impl blocks: the metadata and client stub are generated once, so implement the router for a concrete type",
        );
    }
    if router.methods.is_empty() && item.trait_.is_none() {
        errors.spanned(
            &item.self_ty,
            "this router has no methods: mark its `async fn`s with #[rpc::call], #[rpc::cast] or #[rpc::stream]",
        );
    }
}

fn trait_block(router: &Router, item: &ItemTrait, errors: &mut Errors) {
    if !item.generics.params.is_empty() {
        errors.spanned(
            &item.generics,
            "#[rpc::service] does not support generic traits: the metadata and client stub are generated once, so declare the methods with the concrete types callers send",
        );
    }
    for trait_item in &item.items {
        match trait_item {
            TraitItem::Fn(function) => {
                let ident = &function.sig.ident;
                if router.methods.iter().all(|method| method.ident != *ident) {
                    let fn_token = &function.sig.fn_token;
                    errors.spanned(
                        quote!(#fn_token #ident),
                        format!(
                            "every method of a service trait is served, and `{ident}` is not marked: mark it #[rpc::call], #[rpc::cast] or #[rpc::stream], or move it to another trait"
                        ),
                    );
                }
            }
            other => errors.spanned(
                other,
                "a service trait holds only its rpc methods: move this item to another trait, or to the types the methods take",
            ),
        }
    }
    for method in &router.methods {
        if let Some(body) = &method.default_body {
            errors.spanned(
                body,
                format!(
                    "a service trait declares its methods without bodies: the server implements them and the client only calls them, so replace the body of `{}` with `;`",
                    method.ident
                ),
            );
        }
    }
    if router.methods.is_empty() {
        errors.spanned(
            &item.ident,
            "this service has no methods: declare them as `async fn name(&self, ..) -> T;` marked #[rpc::call], #[rpc::cast] or #[rpc::stream]",
        );
    }
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::super::tests::{assert_each_contains, messages, trait_messages};

    #[test]
    fn impl_blocks_must_be_inherent_and_concrete() {
        let found = messages(parse_quote! {
            impl<T> Display for Wrapper<T> {
                #[rpc::call]
                async fn ping(&self) {}
            }
        });
        assert_each_contains(
            &found,
            &[
                "inherent impl block: write `impl Wrapper { .. }`",
                "generic impl blocks",
            ],
        );
        assert!(found[0].contains("mount it as `DisplayRouter::new(..)`"));
    }

    #[test]
    fn a_valid_service_passes() {
        let found = trait_messages(parse_quote! {
            pub trait Auction: Sync {
                #[rpc::call]
                async fn bid(&self, lot: u32, amount: u64) -> Result<u64, BidError>;
                #[rpc::cast]
                async fn note(self: Arc<Self>, session: &Session, text: String);
                #[rpc::stream]
                fn watch(&self, lot: u32) -> impl Stream<Item = u64>;
            }
        });
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn services_hold_only_declared_rpc_methods() {
        let found = trait_messages(parse_quote! {
            trait Auction<T> {
                #[rpc::call]
                async fn bid(&self, lot: u32) -> u64 { 0 }
                fn helper(&self);
                type Lot;
                #[rpc::call]
                async fn close(&mut self);
            }
        });
        assert_each_contains(
            &found,
            &[
                "does not support generic traits",
                "`helper` is not marked",
                "holds only its rpc methods",
                "replace the body of `bid` with `;`",
                "methods cannot take `&mut self`",
            ],
        );
        let empty = trait_messages(parse_quote!(
            trait Empty {}
        ));
        assert_each_contains(&empty, &["this service has no methods"]);
    }
}
