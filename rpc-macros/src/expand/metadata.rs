//! Reflection metadata as statics, and its registration with `inventory`.
//!
//! `Cow` data cannot be promoted from a temporary in a `static`, so every
//! array is a named static of its own: one `PARAMS_n` per method, then
//! `METHODS`, then `INFO`. They live in the `const _` block of the
//! expansion, so their names cannot clash with the user's items.
//!
//! Streams are described in the same fields: kind `Stream`; `params` are
//! the wire parameters, then the upload stream, if any, as one more entry
//! with its parameter's name and the type `Incoming<U>`; `returns` is
//! `Stream<Item = T>` for a stream of answers (`T` as written, so
//! `Result<T, E>` for fallible items; `Result<Stream<Item = T>, E>` when the
//! stream can be refused), and a client stream's return type as written.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::{
    ast::{Method, Return, Router},
    attr::Kind,
    names,
};

/// How the metadata spells an upload stream of `U`: `Incoming<U>`.
fn uploads_type(item: &str) -> String {
    format!("Incoming<{item}>")
}

/// How the metadata spells a stream of answers of `T`: `Stream<Item = T>`.
fn stream_type(item: &str) -> String {
    format!("Stream<Item = {item}>")
}

pub(super) fn statics(router: &Router) -> TokenStream {
    let p = super::local();
    let params = router.methods.iter().enumerate().map(|(index, method)| {
        let ident = format_ident!("PARAMS_{}", index);
        let uploads = method.uploads().map(|uploads| {
            let item = uploads
                .item
                .as_ref()
                .map(names::type_name)
                .unwrap_or_default();
            (uploads.name(), uploads_type(&item))
        });
        let entries: Vec<TokenStream> = method
            .wire_args()
            .map(|arg| (arg.name(), names::type_name(&arg.ty)))
            .chain(uploads)
            .map(|(name, ty)| quote!(#p::rpc_core::ParamInfo::new(#name, #ty)))
            .collect();
        let len = entries.len();
        quote! {
            static #ident: [#p::rpc_core::ParamInfo; #len] = [#(#entries),*];
        }
    });
    let methods: Vec<TokenStream> = router
        .methods
        .iter()
        .enumerate()
        .map(|(index, method)| method_info(&p, index, method))
        .collect();
    let count = methods.len();
    let name = router.name.to_string();
    let docs = &router.docs;
    quote! {
        #(#params)*
        static METHODS: [#p::rpc_core::MethodInfo; #count] = [#(#methods),*];
        static INFO: #p::rpc_core::RouterInfo =
            #p::rpc_core::RouterInfo::new(#name, #docs, &METHODS);
    }
}

fn method_info(p: &TokenStream, index: usize, method: &Method) -> TokenStream {
    let name = &method.wire_name;
    let kind = match method.kind {
        Kind::Call => quote!(#p::rpc_core::MethodKind::Call),
        Kind::Cast => quote!(#p::rpc_core::MethodKind::Cast),
        Kind::Stream => quote!(#p::rpc_core::MethodKind::Stream),
    };
    let params = format_ident!("PARAMS_{}", index);
    let returns = match (&method.items, &method.ret) {
        (Some(items), _) if method.kind == Kind::Stream => {
            let stream = stream_type(&names::type_name(&items.item));
            match &items.refusal {
                Some(err) => format!("Result<{stream}, {}>", names::type_name(err)),
                None => stream,
            }
        }
        (_, Return::Unit) => "()".to_owned(),
        (_, Return::Value(ty) | Return::Result { whole: ty, .. }) => names::type_name(ty),
    };
    let docs = &method.docs;
    let timeout = method
        .timeout_ms
        .map_or_else(|| quote!(#p::None), |millis| quote!(#p::Some(#millis)));
    quote! {
        #p::rpc_core::MethodInfo::new(
            #name,
            #kind,
            &#params,
            #returns,
            #docs,
            #timeout,
        )
    }
}

/// Lists the router in `rpc::routers()`.
pub(super) fn registration() -> TokenStream {
    let p = super::local();
    quote! {
        #p::inventory::submit! {
            #p::rpc_core::RegisteredRouter::new(&INFO)
        }
    }
}
