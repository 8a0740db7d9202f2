//! How generated code encodes and decodes a method's arguments and answer,
//! so that a wire type missing a serde derive is one error at the type.
//!
//! Passing `&(a, b)` to `Peer::call_with` (or `(A, B)` to
//! `Request::args`) would put the serde bound on the library's generic
//! function: one error per use (the stub, each push stub, the dispatch),
//! pointing into the library. Instead each use goes through a local type
//! whose hand-written serde impl is the only place the bound is needed, and
//! it is spelled with the user's types at their spans: every use makes the
//! same diagnostic, which the compiler reports once. Values are encoded
//! exactly as the tuple `(A, B)` (or the value itself) would be.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Index, Type};

use super::bounds;
use crate::ast::Method;

/// Where the bound of the tuple of `method`'s wire types is reported: at
/// the one type, or at the attribute when there are several.
fn located(method: &Method) -> proc_macro2::Span {
    bounds::decode_span(method.wire_args().map(|arg| &arg.ty))
}

/// `&args` for a stub: the wire arguments of `method`, by reference, as a
/// value that serializes as their tuple. `&()` without arguments.
pub(super) fn args_ref(p: &TokenStream, method: &Method) -> TokenStream {
    let types: Vec<&Type> = method.wire_args().map(|arg| &arg.ty).collect();
    if types.is_empty() {
        return quote!(&());
    }
    let names = method.wire_args().map(|arg| &arg.ident);
    let fields = (0..types.len()).map(Index::from);
    let at = located(method);
    let p = bounds::respan(p, at);
    quote_spanned! {at=>
        &{
            struct __Args<'a>(#(&'a #types,)*);
            impl #p::serde::Serialize for __Args<'_> {
                fn serialize<S: #p::serde::Serializer>(
                    &self,
                    serializer: S,
                ) -> #p::Result<S::Ok, S::Error> {
                    #p::serde::Serialize::serialize(&(#(self.#fields,)*), serializer)
                }
            }
            __Args(#(&#names,)*)
        }
    }
}

/// The dispatch's `let args: (A, B) = ..?;`, decoding `request`'s
/// arguments; `request.args::<()>()?;` without arguments.
pub(super) fn decode_args(p: &TokenStream, method: &Method) -> TokenStream {
    let types: Vec<&Type> = method.wire_args().map(|arg| &arg.ty).collect();
    if types.is_empty() {
        return quote!(request.args::<()>()?;);
    }
    let at = located(method);
    let name = crate::names::type_name(&quote!((#(#types,)*)));
    let p = bounds::respan(p, at);
    let decoded = quote_spanned! {at=>
        {
            struct __Args((#(#types,)*));
            impl<'de> #p::serde::Deserialize<'de> for __Args {
                fn deserialize<D: #p::serde::Deserializer<'de>>(
                    deserializer: D,
                ) -> #p::Result<Self, D::Error> {
                    <(#(#types,)*) as #p::serde::Deserialize<'de>>::deserialize(deserializer)
                        .map(__Args)
                }
            }
            request.args_named::<__Args>(#name).map(|args| args.0)
        }
    };
    quote!(let args: (#(#types,)*) = #decoded?;)
}

/// The dispatch's answer: `request.reply(&value)` for a `value` of type
/// `ty`.
pub(super) fn reply(p: &TokenStream, ty: &Type) -> TokenStream {
    let at = bounds::at(ty);
    let p = bounds::respan(p, at);
    quote_spanned! {at=>
        request.reply(&{
            struct __Reply<'a>(&'a #ty);
            impl #p::serde::Serialize for __Reply<'_> {
                fn serialize<S: #p::serde::Serializer>(
                    &self,
                    serializer: S,
                ) -> #p::Result<S::Ok, S::Error> {
                    #p::serde::Serialize::serialize(self.0, serializer)
                }
            }
            __Reply(&value)
        })
    }
}

/// A stub's `call`, an expression of type `Result<ty, rpc::Error>`,
/// decoding the answer of type `ty` from `call`, an expression of type
/// `Result<__Answer, rpc::Error>` that names `__Answer`.
pub(super) fn decode_answer(p: &TokenStream, ty: &Type, call: &TokenStream) -> TokenStream {
    let at = bounds::at(ty);
    let p = bounds::respan(p, at);
    quote_spanned! {at=>
        {
            struct __Answer(#ty);
            impl<'de> #p::serde::Deserialize<'de> for __Answer {
                fn deserialize<D: #p::serde::Deserializer<'de>>(
                    deserializer: D,
                ) -> #p::Result<Self, D::Error> {
                    <#ty as #p::serde::Deserialize<'de>>::deserialize(deserializer).map(__Answer)
                }
            }
            #call.map(|answer: __Answer| answer.0)
        }
    }
}
