//! The router's type schemas: a hidden function on the client stub,
//! `__rpc_schema()`, describes every method's types through `rpc::Schema`
//! once (a `OnceLock`), and both sides read it: the `Router` impl gives it
//! to discover answers, and the stub's calls and casts send their method's
//! hash. It lives on the stub because the stub is the one item outside the
//! `const _` block that both can name.
//!
//! Each type is described where it is written (`quote_spanned!`), so a type
//! without `Schema` is reported at the parameter or return type, with the
//! trait's message saying to derive it. Vectors are built with
//! `<[_]>::into_vec`, an inherent method: the user's module may have no
//! prelude, so no `From` in scope.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Type;

use super::bounds::{at, respan};
use crate::ast::{Method, Return, Router, Shape};

/// The stub's `__rpc_schema()`.
pub(super) fn function(router: &Router) -> TokenStream {
    let p = router.private();
    let methods = router.methods.iter().map(|method| method_types(&p, method));
    quote! {
        #[doc(hidden)]
        pub fn __rpc_schema() -> &'static #p::rpc_core::schema::RouterSchema {
            static SCHEMA: #p::OnceLock<#p::rpc_core::schema::RouterSchema> = #p::OnceLock::new();
            SCHEMA.get_or_init(|| {
                let mut types = #p::rpc_core::schema::Types::new();
                let methods = <[_]>::into_vec(#p::Box::new([#(#methods),*]));
                #p::rpc_core::schema::RouterSchema::new(types, methods)
            })
        }
    }
}

/// The `Router::schema` method, in the `const _` block.
pub(super) fn router_method(router: &Router) -> TokenStream {
    let p = super::local();
    let client = router.client_ident();
    quote! {
        fn schema(&self) -> #p::Option<&'static #p::rpc_core::schema::RouterSchema> {
            #p::Some(#client::<#p::rpc_core::Peer>::__rpc_schema())
        }
    }
}

/// The hash of method number `index`, for the stub's call options.
pub(super) fn hash(index: usize) -> TokenStream {
    quote!(Self::__rpc_schema().methods[#index].hash)
}

/// One `MethodTypes` value.
fn method_types(p: &TokenStream, method: &Method) -> TokenStream {
    let describe = |ty: &Type| {
        let p = respan(p, at(ty));
        quote_spanned!(at(ty)=> #p::rpc_core::schema::Types::describe::<#ty>(&mut types))
    };
    let some = |ty: Option<&Type>| {
        ty.map_or_else(
            || quote!(#p::None),
            |ty| {
                let described = describe(ty);
                quote!(#p::Some(#described))
            },
        )
    };
    let params = method.wire_args().map(|arg| describe(&arg.ty));
    let upload = some(method.uploads().and_then(|uploads| uploads.item.as_ref()));
    let streams_answers = matches!(method.shape(), Shape::ServerStream | Shape::Bidirectional);
    let (returns, error, item, item_error) = match (&method.items, streams_answers) {
        (Some(items), true) => (
            None,
            items.refusal.as_deref(),
            Some(items.wire_item()),
            items.fallible.as_ref().map(|(_, err)| &**err),
        ),
        _ => match &method.ret {
            Return::Unit => (None, None, None, None),
            Return::Value(ty) => (Some(&**ty), None, None, None),
            Return::Result { ok, err, .. } => (Some(&**ok), Some(&**err), None, None),
        },
    };
    let returns = some(returns);
    let error = some(error);
    let item = some(item);
    let item_error = some(item_error);
    quote! {
        #p::rpc_core::schema::MethodTypes {
            params: <[_]>::into_vec(#p::Box::new([#(#params),*])),
            returns: #returns,
            error: #error,
            item: #item,
            item_error: #item_error,
            upload: #upload,
        }
    }
}
