//! The typed model of an `#[rpc::router]` impl block: a [`Router`] with its
//! [`Method`]s, each with its kind, wire name, arguments and return type.
//!
//! Parsing is lenient: it records what it finds (a by-value `self`, a
//! `&mut Session`, ...) and leaves judging it to `check`, so that every
//! mistake is reported in one build. Only attribute options are validated
//! here, because a bad option leaves nothing to model.

use proc_macro2::Span;
use quote::format_ident;
use syn::{
    Attribute, FnArg, GenericArgument, Ident, ImplItem, ImplItemFn, ItemImpl, LitStr, Pat,
    PathArguments, ReturnType, Signature, Type, ext::IdentExt, parse_quote,
};

use crate::{
    attr::{self, Kind},
    errors::Errors,
    names,
};

/// An impl block marked `#[rpc::router]`.
pub(crate) struct Router {
    /// The impl block as it is emitted again: the method attributes are
    /// removed, the rest is the user's.
    pub(crate) item: ItemImpl,
    /// The router's name: the last segment of the type (`Calculator`).
    pub(crate) name: Ident,
    /// The impl block's doc comment.
    pub(crate) docs: String,
    /// Methods marked `#[rpc::call]` or `#[rpc::cast]`, in declaration
    /// order; the position here is the dispatch index.
    pub(crate) methods: Vec<Method>,
}

/// One method marked `#[rpc::call]` or `#[rpc::cast]`.
pub(crate) struct Method {
    /// Call or cast.
    pub(crate) kind: Kind,
    /// The Rust name, which the client stub's method also gets.
    pub(crate) ident: Ident,
    /// The name on the wire: `name = "..."` or the Rust name.
    pub(crate) wire_name: String,
    /// The `name = "..."` literal, when given (for error spans).
    pub(crate) name_lit: Option<LitStr>,
    /// `timeout = "..."` in milliseconds.
    pub(crate) timeout_ms: Option<u64>,
    /// The method's `#[doc]` attributes, copied onto the stub's method.
    pub(crate) doc_attrs: Vec<Attribute>,
    /// The doc comment's text, for the metadata.
    pub(crate) docs: String,
    /// How the method takes the router.
    pub(crate) receiver: Receiver,
    /// Parameters after the receiver, in order.
    pub(crate) args: Vec<Arg>,
    /// What the method returns.
    pub(crate) ret: Return,
    /// The signature as written, for checks and error spans.
    pub(crate) sig: Signature,
    /// Extra `#[rpc::call]` / `#[rpc::cast]` attributes (a method takes one).
    pub(crate) extra_attrs: Vec<Attribute>,
}

/// How a method takes the router.
pub(crate) enum Receiver {
    /// `&self`.
    Ref,
    /// `self: Arc<Self>`.
    Arc,
    /// Anything else (`self`, `&mut self`, `self: Box<Self>`); an error.
    Other(syn::Receiver),
    /// No receiver at all; an error.
    Missing,
}

/// One parameter after the receiver.
pub(crate) enum Arg {
    /// `&Session` (or `&rpc::Session`): the calling session, injected.
    Session(SessionArg),
    /// A value decoded from the wire.
    Wire(WireArg),
}

/// A `&Session` parameter.
pub(crate) struct SessionArg {
    /// The parameter as written, for error spans.
    pub(crate) param: syn::PatType,
    /// Whether it was written `&mut Session` (an error).
    pub(crate) mutable: bool,
}

/// A parameter the caller sends.
pub(crate) struct WireArg {
    /// The name the stub's parameter gets: the pattern's identifier, or
    /// `argN` for a destructuring pattern.
    pub(crate) ident: Ident,
    /// The type as written.
    pub(crate) ty: Type,
}

impl WireArg {
    /// The parameter's name in the metadata (without `r#`).
    pub(crate) fn name(&self) -> String {
        self.ident.unraw().to_string()
    }
}

/// What a method returns.
pub(crate) enum Return {
    /// Nothing (no arrow, or `-> ()`).
    Unit,
    /// A value sent back as the answer.
    Value(Box<Type>),
    /// `Result<T, E>`: `T` is the answer, `E` an application error.
    Result {
        /// The return type as written.
        whole: Box<Type>,
        /// `T`.
        ok: Box<Type>,
        /// `E`.
        err: Box<Type>,
    },
}

impl Router {
    /// Models `item`, removing the method attributes from it. Errors in
    /// attribute options go to `errors`; the model is still complete, with
    /// defaults where an option was invalid.
    pub(crate) fn parse(mut item: ItemImpl, errors: &mut Errors) -> Router {
        let name = type_ident(&item.self_ty).unwrap_or_else(|| {
            errors.spanned(
                &item.self_ty,
                "#[rpc::router] needs a named type, such as `impl Calculator { .. }`",
            );
            Ident::new("Router", Span::call_site())
        });
        let docs = names::doc_text(&item.attrs);
        let mut methods = Vec::new();
        for impl_item in &mut item.items {
            if let ImplItem::Fn(function) = impl_item {
                if let Some(method) = Method::parse(function, errors) {
                    methods.push(method);
                }
            } else if let Some(attrs) = item_attrs(impl_item) {
                for (attr, _) in take_method_attrs(attrs) {
                    errors.spanned(
                        &attr,
                        "#[rpc::call] and #[rpc::cast] go on methods: `async fn name(&self, ..)`",
                    );
                }
            }
        }
        Router {
            item,
            name,
            docs,
            methods,
        }
    }
}

impl Method {
    /// Models `function` if it carries a method attribute, removing it.
    fn parse(function: &mut ImplItemFn, errors: &mut Errors) -> Option<Method> {
        let mut found = take_method_attrs(&mut function.attrs).into_iter();
        let (first, kind) = found.next()?;
        let extra_attrs = found.map(|(attr, _)| attr).collect();
        let options = attr::parse(&first, kind).unwrap_or_else(|error| {
            errors.push(error);
            attr::MethodAttr {
                kind,
                name: None,
                timeout: None,
            }
        });
        // The DSL requires `async fn` even when a body never awaits.
        function
            .attrs
            .push(parse_quote!(#[allow(clippy::unused_async)]));

        let sig = function.sig.clone();
        let ident = sig.ident.clone();
        let wire_name = options
            .name
            .as_ref()
            .map_or_else(|| ident.unraw().to_string(), LitStr::value);
        let doc_attrs: Vec<Attribute> = names::doc_attrs(&function.attrs).cloned().collect();
        Some(Method {
            kind: options.kind,
            wire_name,
            name_lit: options.name,
            timeout_ms: options.timeout.map(|timeout| timeout.millis),
            docs: names::doc_text(&doc_attrs),
            doc_attrs,
            receiver: receiver(&sig),
            args: args(&sig),
            ret: ret(&sig.output),
            ident,
            sig,
            extra_attrs,
        })
    }

    /// The parameters the caller sends, in order.
    pub(crate) fn wire_args(&self) -> impl Iterator<Item = &WireArg> {
        self.args.iter().filter_map(|arg| match arg {
            Arg::Wire(wire) => Some(wire),
            Arg::Session(_) => None,
        })
    }
}

/// Removes the `#[rpc::call]` / `#[rpc::cast]` attributes from `attrs`.
fn take_method_attrs(attrs: &mut Vec<Attribute>) -> Vec<(Attribute, Kind)> {
    let mut taken = Vec::new();
    attrs.retain(|attr| match attr::kind_of(attr) {
        Some(kind) => {
            taken.push((attr.clone(), kind));
            false
        }
        None => true,
    });
    taken
}

/// The attributes of an impl item other than a method.
fn item_attrs(item: &mut ImplItem) -> Option<&mut Vec<Attribute>> {
    match item {
        ImplItem::Const(item) => Some(&mut item.attrs),
        ImplItem::Type(item) => Some(&mut item.attrs),
        ImplItem::Macro(item) => Some(&mut item.attrs),
        _ => None,
    }
}

/// The last segment of a path type: `Calculator` for `crate::Calculator`.
fn type_ident(ty: &Type) -> Option<Ident> {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            path.path.segments.last().map(|last| last.ident.clone())
        }
        Type::Group(group) => type_ident(&group.elem),
        Type::Paren(paren) => type_ident(&paren.elem),
        _ => None,
    }
}

fn receiver(sig: &Signature) -> Receiver {
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

fn args(sig: &Signature) -> Vec<Arg> {
    let mut wire_index = 0_usize;
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(param) => Some(param),
            FnArg::Receiver(_) => None,
        })
        .map(|param| {
            if let Some(mutable) = session_ref(&param.ty) {
                return Arg::Session(SessionArg {
                    param: param.clone(),
                    mutable,
                });
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

fn ret(output: &ReturnType) -> Return {
    let ReturnType::Type(_, ty) = output else {
        return Return::Unit;
    };
    if matches!(&**ty, Type::Tuple(tuple) if tuple.elems.is_empty()) {
        return Return::Unit;
    }
    if let Type::Path(path) = &**ty
        && path.qself.is_none()
        && let Some(last) = path.path.segments.last()
        && last.ident == "Result"
        && let PathArguments::AngleBracketed(arguments) = &last.arguments
        && let [GenericArgument::Type(ok), GenericArgument::Type(err)] =
            arguments.args.iter().collect::<Vec<_>>()[..]
    {
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

    fn parse(item: ItemImpl) -> (Router, bool) {
        let mut errors = Errors::default();
        let router = Router::parse(item, &mut errors);
        (router, errors.is_empty())
    }

    #[test]
    fn models_methods_in_declaration_order() {
        let (router, clean) = parse(parse_quote! {
            /// Arithmetic.
            impl crate::Calculator {
                /// Adds.
                #[rpc::call]
                async fn add(&self, a: i64, b: i64) -> i64 { a + b }

                fn helper(&self) {}

                #[rpc::call(name = "math.div", timeout = "2s")]
                async fn div(&self, a: i64, b: i64) -> Result<i64, DivError> { todo!() }

                #[rpc::cast]
                async fn log(self: Arc<Self>, session: &rpc::Session, (x, y): (u8, u8)) {}
            }
        });
        assert!(clean);
        assert_eq!(router.name, "Calculator");
        assert_eq!(router.docs, "Arithmetic.");
        let [add, div, log] = &router.methods[..] else {
            panic!("three methods");
        };
        assert_eq!((add.kind, add.wire_name.as_str()), (Kind::Call, "add"));
        assert_eq!(add.docs, "Adds.");
        assert!(matches!(add.receiver, Receiver::Ref));
        assert!(matches!(add.ret, Return::Value(_)));
        assert_eq!(div.wire_name, "math.div");
        assert_eq!(div.timeout_ms, Some(2_000));
        assert!(matches!(div.ret, Return::Result { .. }));
        assert_eq!(log.kind, Kind::Cast);
        assert!(matches!(log.receiver, Receiver::Arc));
        assert!(matches!(log.args[0], Arg::Session(_)));
        let wire: Vec<String> = log.wire_args().map(WireArg::name).collect();
        assert_eq!(wire, ["arg0"]);
        assert!(matches!(log.ret, Return::Unit));
    }

    #[test]
    fn strips_the_method_attributes_from_the_emitted_item() {
        let (router, _) = parse(parse_quote! {
            impl Echo {
                #[rpc::call]
                #[inline]
                async fn echo(&self, text: String) -> String { text }
            }
        });
        let ImplItem::Fn(echo) = &router.item.items[0] else {
            panic!("a method");
        };
        let kept: Vec<String> = echo
            .attrs
            .iter()
            .map(|attr| names::type_name(&attr.meta))
            .collect();
        assert_eq!(kept, ["inline", "allow(clippy::unused_async)"]);
    }

    #[test]
    fn bad_options_are_reported_and_defaulted() {
        let (router, clean) = parse(parse_quote! {
            impl Echo {
                #[rpc::call(timeout = "soon")]
                async fn echo(&self) {}
            }
        });
        assert!(!clean);
        assert_eq!(router.methods[0].timeout_ms, None);
    }
}
