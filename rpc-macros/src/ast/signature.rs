//! Reading a method's signature: its receiver, the injected parameters
//! (`&Session`, `Incoming<U>`, the context a handler takes from the
//! request) among the wire ones, its return type, and the stream it answers
//! with, recognised by how it is written.

use proc_macro2::Span;
use quote::format_ident;
use syn::{
    FnArg, GenericArgument, Ident, Pat, PathArguments, ReturnType, Signature, Type, TypeParamBound,
    TypeReference, punctuated::Punctuated, token::Plus,
};

use super::{Arg, ContextArg, Items, Receiver, Return, SessionArg, UploadsArg, WireArg};
use crate::errors::Errors;

/// The types a parameter is taken from the request for, without a
/// `#[context]` mark (by the last segment of their path).
const CONTEXT_TYPES: [&str; 5] = ["Headers", "Identity", "Claims", "Extension", "Session"];

/// Removes the `#[context]` marks from the parameters of `sig`; the result
/// says, for each typed parameter in order, whether it was marked.
pub(super) fn take_context_marks(sig: &mut Signature, errors: &mut Errors) -> Vec<bool> {
    sig.inputs
        .iter_mut()
        .filter_map(|input| match input {
            FnArg::Typed(param) => Some(param),
            FnArg::Receiver(_) => None,
        })
        .map(|param| {
            let before = param.attrs.len();
            param.attrs.retain(|attr| {
                if !is_context_mark(attr) {
                    return true;
                }
                if !matches!(attr.meta, syn::Meta::Path(_)) {
                    errors.spanned(attr, "`#[context]` takes no arguments: write `#[context]`");
                }
                false
            });
            param.attrs.len() != before
        })
        .collect()
}

/// `#[context]` or `#[rpc::context]`.
fn is_context_mark(attr: &syn::Attribute) -> bool {
    let segments = &attr.path().segments;
    segments.last().is_some_and(|last| last.ident == "context")
        && (segments.len() == 1 || (segments.len() == 2 && segments[0].ident == "rpc"))
}

pub(super) fn receiver(sig: &Signature) -> Receiver {
    let Some(FnArg::Receiver(receiver)) = sig.inputs.first() else {
        return Receiver::Missing;
    };
    if receiver.colon_token.is_none() {
        return match (&receiver.reference, &receiver.mutability) {
            (Some(_), None) => Receiver::Ref,
            _ => Receiver::Other(receiver.clone()),
        };
    }
    match &*receiver.ty {
        Type::Reference(reference)
            if reference.mutability.is_none() && is_self(&reference.elem) =>
        {
            Receiver::Ref
        }
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last();
            match last.map(|segment| (&segment.ident, single_type_arg(&segment.arguments))) {
                Some((ident, Some(inner))) if ident == "Arc" && is_self(inner) => Receiver::Arc,
                _ => Receiver::Other(receiver.clone()),
            }
        }
        _ => Receiver::Other(receiver.clone()),
    }
}

fn is_self(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none() && path.path.is_ident("Self"))
}

fn single_type_arg(arguments: &PathArguments) -> Option<&Type> {
    let PathArguments::AngleBracketed(arguments) = arguments else {
        return None;
    };
    match arguments.args.iter().collect::<Vec<_>>()[..] {
        [GenericArgument::Type(ty)] => Some(ty),
        _ => None,
    }
}

pub(super) fn args(sig: &Signature, marked: &[bool]) -> Vec<Arg> {
    let mut wire_index = 0_usize;
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(param) => Some(param),
            FnArg::Receiver(_) => None,
        })
        .enumerate()
        .map(|(index, param)| {
            if marked.get(index).copied().unwrap_or(false) {
                return Arg::Context(context_arg(&param.ty));
            }
            if let Some(mutable) = session_ref(&param.ty) {
                return Arg::Session(SessionArg {
                    param: param.clone(),
                    mutable,
                });
            }
            if let Some((reference, item)) = incoming(&param.ty) {
                let ident = match &*param.pat {
                    Pat::Ident(pat) if pat.subpat.is_none() => pat.ident.clone(),
                    _ => Ident::new("uploads", Span::call_site()),
                };
                return Arg::Uploads(UploadsArg {
                    param: param.clone(),
                    ident,
                    item: item.cloned(),
                    reference: reference.cloned(),
                });
            }
            if is_context_type(&param.ty) {
                return Arg::Context(context_arg(&param.ty));
            }
            let ident = match &*param.pat {
                Pat::Ident(pat) if pat.subpat.is_none() => pat.ident.clone(),
                _ => format_ident!("arg{}", wire_index),
            };
            wire_index += 1;
            Arg::Wire(WireArg {
                ident,
                ty: (*param.ty).clone(),
            })
        })
        .collect()
}

fn context_arg(ty: &Type) -> ContextArg {
    match ty {
        Type::Reference(reference) => ContextArg {
            ty: (*reference.elem).clone(),
            reference: Some(reference.clone()),
        },
        other => ContextArg {
            ty: other.clone(),
            reference: None,
        },
    }
}

/// Whether `ty` is one of [`CONTEXT_TYPES`], an `Option` of one, or a
/// reference to either (`&Session` is recognised before this).
fn is_context_type(ty: &Type) -> bool {
    let ty = match ty {
        Type::Reference(reference) => &*reference.elem,
        other => other,
    };
    let Type::Path(path) = ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    if path.qself.is_some() {
        return false;
    }
    if last.ident == "Option" {
        return single_type_arg(&last.arguments).is_some_and(is_context_type);
    }
    CONTEXT_TYPES.iter().any(|name| last.ident == name)
}

/// `Some(mutable)` when `ty` is `&Session` or `&mut Session`, under any path
/// (`&rpc::Session`, `&Session` after `use rpc::Session`).
fn session_ref(ty: &Type) -> Option<bool> {
    let Type::Reference(reference) = ty else {
        return None;
    };
    let Type::Path(path) = &*reference.elem else {
        return None;
    };
    let last = path.path.segments.last()?;
    (path.qself.is_none() && last.ident == "Session" && last.arguments.is_none())
        .then_some(reference.mutability.is_some())
}

/// `Some((reference, item))` when `ty` is `Incoming<U>` under any path, or
/// a reference to one; `item` is `U` when there is exactly one type
/// argument.
fn incoming(ty: &Type) -> Option<(Option<&TypeReference>, Option<&Type>)> {
    let (reference, ty) = match ty {
        Type::Reference(reference) => (Some(reference), &*reference.elem),
        other => (None, other),
    };
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    (path.qself.is_none() && last.ident == "Incoming")
        .then(|| (reference, single_type_arg(&last.arguments)))
}

/// The answers of a method returning `ret`, if it returns a stream.
pub(super) fn items(ret: &Return) -> Option<Items> {
    let (stream, refusal) = match ret {
        Return::Unit => return None,
        Return::Value(ty) => (ty, None),
        Return::Result { ok, err, .. } => (ok, Some(err.clone())),
    };
    let item = stream_item(stream)?;
    let fallible =
        result_args(&item).map(|(ok, err)| (Box::new(ok.clone()), Box::new(err.clone())));
    Some(Items {
        item: Box::new(item),
        fallible,
        refusal,
    })
}

/// `T` when `ty` is written as a stream of `T`: `impl Stream<Item = T>`,
/// `dyn Stream<Item = T>` inside `Pin<..>` or `Box<..>`, or
/// `BoxStream<'a, T>`.
pub(super) fn stream_item(ty: &Type) -> Option<Type> {
    match ty {
        Type::ImplTrait(impl_trait) => bounds_item(&impl_trait.bounds),
        Type::TraitObject(object) => bounds_item(&object.bounds),
        Type::Group(group) => stream_item(&group.elem),
        Type::Paren(paren) => stream_item(&paren.elem),
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            if last.ident == "Pin" || last.ident == "Box" {
                return single_type_arg(&last.arguments).and_then(stream_item);
            }
            if last.ident != "BoxStream" {
                return None;
            }
            let PathArguments::AngleBracketed(arguments) = &last.arguments else {
                return None;
            };
            match arguments.args.iter().collect::<Vec<_>>()[..] {
                [GenericArgument::Lifetime(_), GenericArgument::Type(item)] => Some(item.clone()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `T` of a `Stream<Item = T>` bound among `bounds`.
fn bounds_item(bounds: &Punctuated<TypeParamBound, Plus>) -> Option<Type> {
    bounds.iter().find_map(|bound| {
        let TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let last = bound.path.segments.last()?;
        if last.ident != "Stream" {
            return None;
        }
        let PathArguments::AngleBracketed(arguments) = &last.arguments else {
            return None;
        };
        arguments.args.iter().find_map(|argument| match argument {
            GenericArgument::AssocType(assoc) if assoc.ident == "Item" => Some(assoc.ty.clone()),
            _ => None,
        })
    })
}

/// `(T, E)` when `ty` is spelled `Result<T, E>`.
fn result_args(ty: &Type) -> Option<(&Type, &Type)> {
    if let Type::Path(path) = ty
        && path.qself.is_none()
        && let Some(last) = path.path.segments.last()
        && last.ident == "Result"
        && let PathArguments::AngleBracketed(arguments) = &last.arguments
        && let [GenericArgument::Type(ok), GenericArgument::Type(err)] =
            arguments.args.iter().collect::<Vec<_>>()[..]
    {
        return Some((ok, err));
    }
    None
}

pub(super) fn ret(output: &ReturnType) -> Return {
    let ReturnType::Type(_, ty) = output else {
        return Return::Unit;
    };
    if matches!(&**ty, Type::Tuple(tuple) if tuple.elems.is_empty()) {
        return Return::Unit;
    }
    if let Some((ok, err)) = result_args(ty) {
        return Return::Result {
            whole: ty.clone(),
            ok: Box::new(ok.clone()),
            err: Box::new(err.clone()),
        };
    }
    Return::Value(ty.clone())
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;
    use crate::names;

    #[test]
    fn stream_items_are_read_from_the_ways_a_stream_is_written() {
        let cases: [(Type, Option<&str>); 7] = [
            (parse_quote!(impl Stream<Item = u64>), Some("u64")),
            (
                parse_quote!(impl Send + futures::Stream<Item = (u8, String)> + 'static),
                Some("(u8, String)"),
            ),
            (
                parse_quote!(Pin<Box<dyn Stream<Item = Tick> + Send>>),
                Some("Tick"),
            ),
            (parse_quote!(BoxStream<'static, Vec<u8>>), Some("Vec<u8>")),
            (parse_quote!(impl Iterator<Item = u64>), None),
            (parse_quote!(ReceiverStream<u64>), None),
            (parse_quote!(Vec<u64>), None),
        ];
        for (ty, expected) in cases {
            let found = stream_item(&ty).map(|item| names::type_name(&item));
            assert_eq!(found.as_deref(), expected, "{}", names::type_name(&ty));
        }
    }
}
