//! The `Router` impl: `info` returns the metadata static, `dispatch` is a
//! `match` on the method index (declaration order). Each arm decodes the
//! wire arguments as one tuple, calls the method (injecting the session
//! where asked), and encodes the answer; an `Err` of a `Result` becomes an
//! application error carrying the value and its `Display` text.
//!
//! A stream method gets its uploads from `request.incoming()` and sends its
//! items with `request.send_stream(..)` (or `stub::send_result_stream` for
//! items of type `Result<T, E>`), both under the stream's credit; a client
//! stream answers once with `request.reply(..)`, as a call does.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Index, Type};

use super::bounds;
use crate::ast::{Arg, Items, Method, Receiver, Return, Router, Shape};

pub(super) fn router_impl(router: &Router) -> TokenStream {
    let ty = &router.item.self_ty;
    let arms = router
        .methods
        .iter()
        .enumerate()
        .map(|(index, method)| arm(ty, index, method));
    quote! {
        impl ::rpc::__private::rpc_core::Router for #ty {
            fn info(&self) -> &'static ::rpc::__private::rpc_core::RouterInfo {
                &INFO
            }

            fn dispatch(
                self: ::rpc::__private::Arc<Self>,
                method: usize,
                request: ::rpc::__private::rpc_core::Request,
            ) -> ::rpc::__private::rpc_core::HandlerFuture {
                match method {
                    #(#arms)*
                    _ => ::rpc::__private::Box::pin(async move {
                        ::rpc::__private::Err(::rpc::__private::rpc_core::HandlerError::new(
                            ::rpc::__private::rpc_core::ErrorCode::UNKNOWN_METHOD,
                            "no method with this index",
                        ))
                    }),
                }
            }
        }
    }
}

fn arm(ty: &Type, index: usize, method: &Method) -> TokenStream {
    let ident = &method.ident;
    let decode_at = bounds::decode_span(method.wire_args().map(|arg| &arg.ty));
    let mut wire_index = 0;
    let call_args: Vec<TokenStream> = method
        .args
        .iter()
        .map(|arg| match arg {
            Arg::Session(_) => quote!(request.session()),
            Arg::Uploads(_) => quote!(uploads),
            Arg::Wire(_) => {
                let field = Index::from(wire_index);
                wire_index += 1;
                quote!(args.#field)
            }
        })
        .collect();
    let decode = if wire_index == 0 {
        quote!(request.args::<()>()?;)
    } else {
        let wire_types = method.wire_args().map(|arg| &arg.ty);
        let decoded = quote_spanned!(decode_at=> request.args());
        quote!(let args: (#(#wire_types,)*) = #decoded?;)
    };
    // Uploads are accepted (and credit granted) once the arguments decode.
    let uploads = method.uploads().and_then(|uploads| {
        let item = uploads.item.as_ref()?;
        let accept = quote_spanned!(bounds::at(item)=> request.incoming::<#item>());
        Some(quote!(let uploads = #accept?;))
    });
    let receiver = if let Receiver::Arc = method.receiver {
        quote!(self)
    } else {
        quote!(&*self)
    };
    let awaited = method.sig.asyncness.map(|_| quote!(.await));
    let call = quote!(<#ty>::#ident(#receiver, #(#call_args),*)#awaited);
    let answer = match (&method.items, method.shape()) {
        (Some(items), Shape::ServerStream | Shape::Bidirectional) => send_items(&call, items),
        _ => answer_once(&call, method),
    };
    // Located at the method's name, so that a handler whose future is not
    // `Send` is reported there.
    let handler = quote_spanned! {bounds::at(ident)=>
        ::rpc::__private::Box::pin(async move {
            #decode
            #uploads
            #answer
        })
    };
    quote! {
        #index => #handler,
    }
}

/// Answers a call, a cast or a client stream with the method's value.
fn answer_once(call: &TokenStream, method: &Method) -> TokenStream {
    match (&method.ret, method.shape()) {
        (Return::Unit, _) | (_, Shape::Cast) => quote! {
            #call;
            request.reply(&())
        },
        (Return::Value(ty), _) => {
            let reply = quote_spanned!(bounds::at(ty)=> request.reply(&value));
            quote! {
                let value = #call;
                #reply
            }
        }
        (Return::Result { ok, err, .. }, _) => {
            let reply = quote_spanned!(bounds::at(ok)=> request.reply(&value));
            let application = application(err);
            quote! {
                match #call {
                    ::rpc::__private::Ok(value) => #reply,
                    ::rpc::__private::Err(error) => ::rpc::__private::Err(#application),
                }
            }
        }
    }
}

/// Sends the items of the stream the method returns, or its refusal.
fn send_items(call: &TokenStream, items: &Items) -> TokenStream {
    let send = if items.fallible.is_some() {
        quote_spanned! {bounds::at(&items.item)=>
            ::rpc::__private::rpc_core::stub::send_result_stream(&request, items).await
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
            let application = application(err);
            quote! {
                match #call {
                    ::rpc::__private::Ok(items) => #send,
                    ::rpc::__private::Err(error) => ::rpc::__private::Err(#application),
                }
            }
        }
    }
}

/// The application error made of `error`, a value of the method's error
/// type `err`.
fn application(err: &Type) -> TokenStream {
    quote_spanned! {bounds::at(err)=>
        ::rpc::__private::rpc_core::HandlerError::application(
            ::rpc::__private::ToString::to_string(&error),
            &error,
        )
    }
}
