//! The `Router` impl: `info` returns the metadata static, `dispatch` is a
//! `match` on the method index (declaration order), and `runs_inline`, when
//! a method is marked `inline`, lists those indexes. Each arm of `dispatch`
//! decodes the wire arguments as one tuple, calls the method (injecting the
//! session where asked), and encodes the answer; an `Err` of a `Result`
//! becomes an application error carrying the value and its `Display` text.
//!
//! For a service trait the impl is generic over the implementation,
//! `impl<S: Auction> Router for AuctionRouter<S>`, and an arm calls
//! `<S as Auction>::bid(&*self.service, ..)`; the rest is the same.
//!
//! A stream method gets its uploads from `request.incoming()` and sends its
//! items with `request.send_stream(..)` (or `stub::send_result_stream` for
//! items of type `Result<T, E>`), both under the stream's credit; a client
//! stream answers once with `request.reply(..)`, as a call does.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{Index, Type};

use super::{bounds, wire};
use crate::ast::{Arg, Form, Items, Method, Receiver, Return, Router, Shape};

/// How the `Router` impl reaches the methods.
struct Target {
    /// `impl Router for Calculator`, or for a service
    /// `impl<__Service: Auction> Router for AuctionRouter<__Service>`.
    header: TokenStream,
    /// What the methods are called on: `<Calculator>` or
    /// `<__Service as Auction>`.
    callee: TokenStream,
    /// The argument for `&self`, given `self: Arc<Self>` of the router.
    by_ref: TokenStream,
    /// The argument for `self: Arc<Self>`.
    by_arc: TokenStream,
}

impl Target {
    fn of(router: &Router) -> Target {
        let p = super::local();
        match &router.form {
            Form::Impl(item) => {
                let ty = &item.self_ty;
                Target {
                    header: quote!(impl #p::rpc_core::Router for #ty),
                    callee: quote!(<#ty>),
                    by_ref: quote!(&*self),
                    by_arc: quote!(self),
                }
            }
            Form::Trait(item) => {
                let service = &item.ident;
                let server = router.server_ident();
                Target {
                    header: quote! {
                        impl<__Service: #service> #p::rpc_core::Router for #server<__Service>
                    },
                    callee: quote!(<__Service as #service>),
                    by_ref: quote!(&*self.service),
                    by_arc: quote!(#p::Arc::clone(&self.service)),
                }
            }
        }
    }
}

pub(super) fn router_impl(router: &Router) -> TokenStream {
    let p = super::local();
    let target = Target::of(router);
    let arms = router
        .methods
        .iter()
        .enumerate()
        .map(|(index, method)| arm(&target, index, method));
    let header = &target.header;
    let schema = super::schema::router_method(router);
    let runs_inline = runs_inline(router);
    let dispatch_now = dispatch_now(router, &target);
    quote! {
        #header {
            fn info(&self) -> &'static #p::rpc_core::RouterInfo {
                &INFO
            }

            #schema
            #runs_inline
            #dispatch_now

            fn dispatch(
                self: #p::Arc<Self>,
                method: usize,
                request: #p::rpc_core::Request,
            ) -> #p::rpc_core::HandlerFuture {
                match method {
                    #(#arms)*
                    _ => #p::Box::pin(async move {
                        #p::Err(#p::rpc_core::HandlerError::new(
                            #p::rpc_core::ErrorCode::UNKNOWN_METHOD,
                            "no method with this index",
                        ))
                    }),
                }
            }
        }
    }
}

/// `Router::runs_inline`, true for the indexes of the methods marked
/// `inline`; nothing when none is, so that the provided method (`false`
/// for every method) stands. A `match` rather than `matches!`: it names no
/// path, so it needs neither the prelude nor a re-export.
fn runs_inline(router: &Router) -> TokenStream {
    let inline: Vec<usize> = router
        .methods
        .iter()
        .enumerate()
        .filter(|(_, method)| method.inline)
        .map(|(index, _)| index)
        .collect();
    if inline.is_empty() {
        return TokenStream::new();
    }
    quote! {
        fn runs_inline(&self, method: usize) -> bool {
            match method {
                #(#inline)|* => true,
                _ => false,
            }
        }
    }
}

/// The `Router` impl of an invalid router: no metadata, no dispatch, just
/// enough for code that mounts it to report nothing more than the errors.
/// Nothing when the item is not one a `Router` impl can be written for.
pub(super) fn placeholder_impl(router: &Router) -> TokenStream {
    let generic = match &router.form {
        Form::Impl(item) => item.trait_.is_some() || !item.generics.params.is_empty(),
        Form::Trait(item) => !item.generics.params.is_empty(),
    };
    if generic {
        return TokenStream::new();
    }
    let p = super::local();
    let import = super::import(router);
    let header = Target::of(router).header;
    quote! {
        const _: () = {
            #import

            #header {
                fn info(&self) -> &'static #p::rpc_core::RouterInfo {
                    loop {}
                }

                fn dispatch(
                    self: #p::Arc<Self>,
                    _: usize,
                    _: #p::rpc_core::Request,
                ) -> #p::rpc_core::HandlerFuture {
                    loop {}
                }
            }
        };
    }
}

fn arm(target: &Target, index: usize, method: &Method) -> TokenStream {
    let p = super::local();
    let ident = &method.ident;
    let body = body(target, method);
    // Located at the method's name, so that a handler whose future is not
    // `Send` is reported there.
    let p = bounds::respan(&p, bounds::at(ident));
    let handler = quote_spanned! {bounds::at(ident)=>
        #p::Box::pin(async move { #body })
    };
    quote! {
        #index => #handler,
    }
}

/// Whether `method` answers without a future: a plain `fn` marked
/// `inline`, called on `&self`.
fn runs_now(method: &Method) -> bool {
    method.inline && method.sig.asyncness.is_none() && !matches!(method.receiver, Receiver::Arc)
}

/// `Router::dispatch_now`, which runs the synchronous inline methods to
/// their answer; nothing when there are none, so that the provided method
/// (which gives every request back) stands.
fn dispatch_now(router: &Router, target: &Target) -> TokenStream {
    let p = super::local();
    let arms: Vec<TokenStream> = router
        .methods
        .iter()
        .enumerate()
        .filter(|(_, method)| runs_now(method))
        .map(|(index, method)| {
            let body = body(target, method);
            quote! {
                #index => #p::Ok((move || -> #p::Result<#p::rpc_core::Reply, #p::rpc_core::HandlerError> {
                    #body
                })()),
            }
        })
        .collect();
    if arms.is_empty() {
        return TokenStream::new();
    }
    quote! {
        fn dispatch_now(
            &self,
            method: usize,
            request: #p::rpc_core::Request,
        ) -> #p::Result<#p::Result<#p::rpc_core::Reply, #p::rpc_core::HandlerError>, #p::rpc_core::Request> {
            match method {
                #(#arms)*
                _ => #p::Err(request),
            }
        }
    }
}

/// The statements that run `method` for `request` and make its answer:
/// the extractors, the arguments, the uploads, the call and the reply.
fn body(target: &Target, method: &Method) -> TokenStream {
    let p = super::local();
    let ident = &method.ident;
    let mut wire_index = 0;
    let mut extract = Vec::new();
    let call_args: Vec<TokenStream> = method
        .args
        .iter()
        .map(|arg| match arg {
            Arg::Session(_) => quote!(request.session()),
            Arg::Uploads(_) => quote!(uploads),
            Arg::Context(context) => {
                let value = format_ident!("__context{}", extract.len());
                let ty = &context.ty;
                let p = bounds::respan(&p, bounds::at(ty));
                extract.push(quote_spanned! {bounds::at(ty)=>
                    let #value = <#ty as #p::rpc_core::FromRequest>::from_request(&request)?;
                });
                quote!(#value)
            }
            Arg::Wire(_) => {
                let field = Index::from(wire_index);
                wire_index += 1;
                quote!(args.#field)
            }
        })
        .collect();
    let decode = wire::decode_args(&p, method);
    // Uploads are accepted (and credit granted) once the arguments decode.
    let uploads = method.uploads().and_then(|uploads| {
        let item = uploads.item.as_ref()?;
        let accept = quote_spanned!(bounds::at(item)=> request.incoming::<#item>());
        Some(quote!(let uploads = #accept?;))
    });
    let receiver = if let Receiver::Arc = method.receiver {
        &target.by_arc
    } else {
        &target.by_ref
    };
    let callee = &target.callee;
    let awaited = method.sig.asyncness.map(|_| quote!(.await));
    let call = quote!(#callee::#ident(#receiver, #(#call_args),*)#awaited);
    let answer = match (&method.items, method.shape()) {
        (Some(items), Shape::ServerStream | Shape::Bidirectional) => send_items(&p, &call, items),
        _ => answer_once(&p, &call, method),
    };
    quote! {
        #(#extract)*
        #decode
        #uploads
        #answer
    }
}

/// Answers a call, a cast or a client stream with the method's value.
fn answer_once(p: &TokenStream, call: &TokenStream, method: &Method) -> TokenStream {
    match (&method.ret, method.shape()) {
        (Return::Unit, _) | (_, Shape::Cast) => quote! {
            #call;
            request.reply(&())
        },
        (Return::Value(ty), _) => {
            let reply = wire::reply(p, ty);
            quote! {
                let value = #call;
                #reply
            }
        }
        (Return::Result { ok, err, .. }, _) => {
            let reply = wire::reply(p, ok);
            let application = application(p, err);
            quote! {
                match #call {
                    #p::Ok(value) => #reply,
                    #p::Err(error) => #p::Err(#application),
                }
            }
        }
    }
}

/// Sends the items of the stream the method returns, or its refusal.
fn send_items(p: &TokenStream, call: &TokenStream, items: &Items) -> TokenStream {
    let send = if items.fallible.is_some() {
        let p = bounds::respan(p, bounds::at(&items.item));
        quote_spanned! {bounds::at(&items.item)=>
            #p::rpc_core::stub::send_result_stream(&request, items).await
        }
    } else {
        quote_spanned! {bounds::at(&items.item)=>
            request.send_stream(items).await
        }
    };
    match &items.refusal {
        None => quote! {
            let items = #call;
            #send
        },
        Some(err) => {
            let application = application(p, err);
            quote! {
                match #call {
                    #p::Ok(items) => #send,
                    #p::Err(error) => #p::Err(#application),
                }
            }
        }
    }
}

/// The application error made of `error`, a value of the method's error
/// type `err`.
fn application(p: &TokenStream, err: &Type) -> TokenStream {
    let p = bounds::respan(p, bounds::at(err));
    quote_spanned! {bounds::at(err)=>
        #p::rpc_core::HandlerError::application(
            #p::ToString::to_string(&error),
            &error,
        )
    }
}
