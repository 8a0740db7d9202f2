//! The typed model of an `#[rpc::router]` impl block: a [`Router`] with its
//! [`Method`]s, each with its kind, wire name, arguments and return type.
//!
//! Streams are recognised by how they are written: an `Incoming<U>`
//! parameter is the caller's uploads, and a return type written
//! `impl Stream<Item = T>` (or `Pin<Box<dyn Stream<Item = T> ..>>`, or
//! `BoxStream<'_, T>`), possibly inside `Result<_, E>`, streams answers.
//! The item types must be visible in the signature: the client stub and the
//! metadata name them.
//!
//! Parsing is lenient: it records what it finds (a by-value `self`, a
//! `&mut Session`, ...) and leaves judging it to `check`, so that every
//! mistake is reported in one build. Only attribute options are validated
//! here, because a bad option leaves nothing to model.

use proc_macro2::Span;
use quote::format_ident;
use syn::{
    Attribute, FnArg, GenericArgument, Ident, ImplItem, ImplItemFn, ItemImpl, LitStr, Pat,
    PathArguments, ReturnType, Signature, Type, TypeParamBound, TypeReference, ext::IdentExt,
    parse_quote, punctuated::Punctuated, token::Plus,
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
    /// Methods marked `#[rpc::call]`, `#[rpc::cast]` or `#[rpc::stream]`,
    /// in declaration order; the position here is the dispatch index.
    pub(crate) methods: Vec<Method>,
}

/// One method marked `#[rpc::call]`, `#[rpc::cast]` or `#[rpc::stream]`.
pub(crate) struct Method {
    /// Call, cast or stream.
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
    /// The stream of answers, when the return type is one (whatever the
    /// kind: `check` refuses it on a call or cast).
    pub(crate) items: Option<Items>,
    /// The signature as written, for checks and error spans.
    pub(crate) sig: Signature,
    /// Extra method attributes (a method takes one).
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
    /// `Incoming<U>` (or `rpc::Incoming<U>`): the caller's uploads,
    /// injected; only `#[rpc::stream]` methods may take one.
    Uploads(UploadsArg),
}

/// A `&Session` parameter.
pub(crate) struct SessionArg {
    /// The parameter as written, for error spans.
    pub(crate) param: syn::PatType,
    /// Whether it was written `&mut Session` (an error).
    pub(crate) mutable: bool,
}

/// An `Incoming<U>` parameter.
pub(crate) struct UploadsArg {
    /// The parameter as written, for error spans.
    pub(crate) param: syn::PatType,
    /// The name the stub's upload parameter gets: the pattern's identifier,
    /// or `uploads`.
    pub(crate) ident: Ident,
    /// `U`, when written with exactly one type argument.
    pub(crate) item: Option<Type>,
    /// The reference, when written `&Incoming<U>` (an error).
    pub(crate) reference: Option<TypeReference>,
}

impl UploadsArg {
    /// The parameter's name in the metadata (without `r#`).
    pub(crate) fn name(&self) -> String {
        self.ident.unraw().to_string()
    }
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

/// The answers of a method that returns a stream.
pub(crate) struct Items {
    /// The item type as written: `T` in `impl Stream<Item = T>`.
    pub(crate) item: Box<Type>,
    /// `(T, E)` when the item type is `Result<T, E>`: items are `T`, and an
    /// `Err(e)` ends the stream with an application error.
    pub(crate) fallible: Option<(Box<Type>, Box<Type>)>,
    /// `E` when the method returns `Result<impl Stream, E>`: an `Err(e)`
    /// refuses the stream before any item.
    pub(crate) refusal: Option<Box<Type>>,
}

impl Items {
    /// The type of the items on the wire: `T` for items of type `T` or
    /// `Result<T, E>`.
    pub(crate) fn wire_item(&self) -> &Type {
        self.fallible.as_ref().map_or(&*self.item, |(ok, _)| ok)
    }
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
                for (attr, kind) in take_method_attrs(attrs) {
                    errors.spanned(
                        &attr,
                        format!("#[rpc::{kind}] goes on methods: `async fn name(&self, ..)`"),
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
        if function.sig.asyncness.is_some() {
            function
                .attrs
                .push(parse_quote!(#[allow(clippy::unused_async)]));
        }

        let sig = function.sig.clone();
        let ident = sig.ident.clone();
        let wire_name = options
            .name
            .as_ref()
            .map_or_else(|| ident.unraw().to_string(), LitStr::value);
        let doc_attrs: Vec<Attribute> = names::doc_attrs(&function.attrs).cloned().collect();
        let ret = ret(&sig.output);
        Some(Method {
            kind: options.kind,
            wire_name,
            name_lit: options.name,
            timeout_ms: options.timeout.map(|timeout| timeout.millis),
            docs: names::doc_text(&doc_attrs),
            doc_attrs,
            receiver: receiver(&sig),
            args: args(&sig),
            items: items(&ret),
            ret,
            ident,
            sig,
            extra_attrs,
        })
    }

    /// The parameters the caller sends, in order.
    pub(crate) fn wire_args(&self) -> impl Iterator<Item = &WireArg> {
        self.args.iter().filter_map(|arg| match arg {
            Arg::Wire(wire) => Some(wire),
            Arg::Session(_) | Arg::Uploads(_) => None,
        })
    }

    /// The `Incoming<U>` parameter (the first, if there are several).
    pub(crate) fn uploads(&self) -> Option<&UploadsArg> {
        self.args.iter().find_map(|arg| match arg {
            Arg::Uploads(uploads) => Some(uploads),
            Arg::Session(_) | Arg::Wire(_) => None,
        })
    }

    /// What kind of exchange the method is, from its attribute and, for a
    /// stream, from its signature.
    pub(crate) fn shape(&self) -> Shape {
        match (self.kind, self.items.is_some(), self.uploads().is_some()) {
            (Kind::Call, ..) => Shape::Call,
            (Kind::Cast, ..) => Shape::Cast,
            (Kind::Stream, true, false) => Shape::ServerStream,
            (Kind::Stream, false, true) => Shape::ClientStream,
            (Kind::Stream, true, true) => Shape::Bidirectional,
            (Kind::Stream, false, false) => Shape::NotAStream,
        }
    }
}

/// What kind of exchange a method is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `#[rpc::call]`: one request, one answer.
    Call,
    /// `#[rpc::cast]`: one request, no answer.
    Cast,
    /// `#[rpc::stream]` returning a stream: one request, many answers.
    ServerStream,
    /// `#[rpc::stream]` taking `Incoming<U>`: many uploads, one answer.
    ClientStream,
    /// `#[rpc::stream]` taking `Incoming<U>` and returning a stream.
    Bidirectional,
    /// `#[rpc::stream]` with neither (an error).
    NotAStream,
}

/// Removes the method attributes from `attrs`.
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
fn items(ret: &Return) -> Option<Items> {
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
pub(crate) fn stream_item(ty: &Type) -> Option<Type> {
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

fn ret(output: &ReturnType) -> Return {
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
    fn models_the_three_kinds_of_stream() {
        let (router, clean) = parse(parse_quote! {
            impl Feeds {
                #[rpc::stream]
                fn ticks(&self, every: u64) -> impl futures::Stream<Item = u64> + Send { todo!() }
                #[rpc::stream]
                async fn sum(&self, mut numbers: rpc::Incoming<u64>) -> Result<u64, Overflow> { todo!() }
                #[rpc::stream]
                async fn chat(&self, _: &Incoming<Line>) -> Result<BoxStream<'static, Result<Line, Gone>>, Full> { todo!() }
                #[rpc::stream]
                async fn nothing(&self) -> ReceiverStream<u64> { todo!() }
            }
        });
        assert!(clean);
        let [ticks, sum, chat, nothing] = &router.methods[..] else {
            panic!("four methods");
        };
        assert_eq!(ticks.kind, Kind::Stream);
        assert!(ticks.sig.asyncness.is_none());
        assert_eq!(ticks.shape(), Shape::ServerStream);
        let items = ticks.items.as_ref().expect("a stream");
        assert_eq!(names::type_name(&items.item), "u64");
        assert!(items.fallible.is_none() && items.refusal.is_none());

        assert_eq!(sum.shape(), Shape::ClientStream);
        let uploads = sum.uploads().expect("uploads");
        assert_eq!(uploads.name(), "numbers");
        assert_eq!(
            uploads.item.as_ref().map(names::type_name).as_deref(),
            Some("u64")
        );
        assert!(uploads.reference.is_none());
        assert_eq!(sum.wire_args().count(), 0);

        assert_eq!(chat.shape(), Shape::Bidirectional);
        let uploads = chat.uploads().expect("uploads");
        assert_eq!(uploads.name(), "uploads");
        assert!(uploads.reference.is_some());
        let items = chat.items.as_ref().expect("a stream");
        assert_eq!(names::type_name(items.wire_item()), "Line");
        assert_eq!(
            items
                .fallible
                .as_ref()
                .map(|(_, err)| names::type_name(err))
                .as_deref(),
            Some("Gone")
        );
        assert_eq!(
            items.refusal.as_ref().map(names::type_name).as_deref(),
            Some("Full")
        );

        assert_eq!(nothing.shape(), Shape::NotAStream);
    }

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
