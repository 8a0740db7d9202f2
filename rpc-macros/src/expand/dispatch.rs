//! The `Router` impl: `info` returns the metadata static, `dispatch` is a
//! `match` on the method index (declaration order). Each arm decodes the
//! wire arguments as one tuple, calls the method (injecting the session
//! where asked), and encodes the answer; an `Err` of a `Result` becomes an
//! application error carrying the value and its `Display` text.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Index, Type};

use super::bounds;
use crate::{
    ast::{Arg, Method, Receiver, Return, Router},
    attr::Kind,
};

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
    let receiver = if let Receiver::Arc = method.receiver {
        quote!(self)
    } else {
        quote!(&*self)
    };
    let call = quote!(<#ty>::#ident(#receiver, #(#call_args),*).await);
    let answer = match (&method.ret, method.kind) {
        (Return::Unit, _) | (_, Kind::Cast) => quote! {
            #call;
            request.reply(&())
        },
        (Return::Value(ty), Kind::Call) => {
            let reply = quote_spanned!(bounds::at(ty)=> request.reply(&value));
            quote! {
                let value = #call;
                #reply
            }
        }
        (Return::Result { ok, err, .. }, Kind::Call) => {
            let reply = quote_spanned!(bounds::at(ok)=> request.reply(&value));
            let application = quote_spanned! {bounds::at(err)=>
                ::rpc::__private::rpc_core::HandlerError::application(
                    ::rpc::__private::ToString::to_string(&error),
                    &error,
                )
            };
            quote! {
                match #call {
                    ::rpc::__private::Ok(value) => #reply,
                    ::rpc::__private::Err(error) => ::rpc::__private::Err(#application),
                }
            }
        }
    };
    // Located at the method's name, so that a handler whose future is not
    // `Send` is reported there.
    let handler = quote_spanned! {bounds::at(ident)=>
        ::rpc::__private::Box::pin(async move {
            #decode
            #answer
        })
    };
    quote! {
        #index => #handler,
    }
}
