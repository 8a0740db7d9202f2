//! The typed model of an `#[rpc::router]` impl block or an
//! `#[rpc::service]` trait: a [`Router`] with its [`Method`]s, each with its
//! kind, wire name, arguments and return type. Both forms make the same
//! model, and the expansion serves, describes and stubs them the same way;
//! only where the methods are found and how dispatch calls them differ.
//!
//! Streams are recognised by how they are written (`signature`): an
//! `Incoming<U>` parameter is the caller's uploads, and a return type
//! written `impl Stream<Item = T>` (or `Pin<Box<dyn Stream<Item = T> ..>>`,
//! or `BoxStream<'_, T>`), possibly inside `Result<_, E>`, streams answers.
//! The item types must be visible in the signature: the client stub and the
//! metadata name them.
//!
//! Parsing is lenient: it records what it finds (a by-value `self`, a
//! `&mut Session`, a default body in a trait, ...) and leaves judging it to
//! `check`, so that every mistake is reported in one build. Only attribute
//! options are validated here, because a bad option leaves nothing to
//! model.

mod signature;

use proc_macro2::{Span, TokenStream};
use quote::format_ident;
use syn::{
    Attribute, Block, Ident, ImplItem, ItemImpl, ItemTrait, LitStr, Path, Signature, TraitItem,
    Type, TypeReference, Visibility, ext::IdentExt, parse_quote,
};

use crate::{
    attr::{self, Kind},
    errors::Errors,
    names,
    options::{Container, Options},
};

/// An impl block marked `#[rpc::router]` or a trait marked
/// `#[rpc::service]`.
pub(crate) struct Router {
    /// The item as it is emitted again: the method attributes are removed,
    /// the rest is the user's.
    pub(crate) form: Form,
    /// The router's name: the last segment of the type (`Calculator`), or
    /// the trait's name (`Auction`).
    pub(crate) name: Ident,
    /// The item's doc comment.
    pub(crate) docs: String,
    /// Methods marked `#[rpc::call]`, `#[rpc::cast]` or `#[rpc::stream]`,
    /// in declaration order; the position here is the dispatch index.
    pub(crate) methods: Vec<Method>,
    /// The attribute's options.
    pub(crate) options: Options,
}

/// Where the methods are written.
pub(crate) enum Form {
    /// `#[rpc::router] impl Calculator { .. }`: the methods have bodies,
    /// and the type is the router.
    Impl(ItemImpl),
    /// `#[rpc::service] trait Auction { .. }`: the methods are declared,
    /// and any implementation is served through `AuctionRouter<T>`.
    Trait(ItemTrait),
}

impl Router {
    /// Which attribute made the router.
    pub(crate) fn container(&self) -> Container {
        match self.form {
            Form::Impl(_) => Container::Router,
            Form::Trait(_) => Container::Service,
        }
    }

    /// The path generated code names the runtime by (`::rpc::__private`).
    pub(crate) fn private(&self) -> TokenStream {
        self.options.private()
    }

    /// The client stub's name: `client = "..."`, or `<Name>Client`.
    pub(crate) fn client_ident(&self) -> Ident {
        self.options.client.clone().unwrap_or_else(|| {
            format_ident!("{}Client", self.name.unraw(), span = Span::call_site())
        })
    }

    /// The client stub's visibility: `client_vis = "..."`, or `pub` for an
    /// impl block and the trait's own for a service.
    pub(crate) fn client_vis(&self) -> Visibility {
        match (&self.options.client_vis, &self.form) {
            (Some(vis), _) => vis.clone(),
            (None, Form::Impl(_)) => parse_quote!(pub),
            (None, Form::Trait(item)) => item.vis.clone(),
        }
    }

    /// The generic router that serves implementations of a service trait:
    /// `<Trait>Router`.
    pub(crate) fn server_ident(&self) -> Ident {
        format_ident!("{}Router", self.name.unraw(), span = Span::call_site())
    }
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
    /// `idempotent` (calls only): the stub's calls may be retried.
    pub(crate) idempotent: bool,
    /// `inline` (calls and casts): the handler's first poll runs on the
    /// session's reader (`Router::runs_inline`).
    pub(crate) inline: bool,
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
    /// A default body given in a service trait (an error).
    pub(crate) default_body: Option<Block>,
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
    /// A value taken from the request by `rpc::FromRequest`: a parameter
    /// typed `Headers`, `Identity`, `Claims<T>`, `Extension<T>`, `Session`
    /// (or an `Option` of one), or marked `#[context]`.
    Context(ContextArg),
}

/// A parameter filled in from the request.
pub(crate) struct ContextArg {
    /// The type as written.
    pub(crate) ty: Type,
    /// The reference, when written `&Headers` and the like (an error: the
    /// value is extracted per call and owned by the handler).
    pub(crate) reference: Option<TypeReference>,
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
    /// Models an impl block, removing the method attributes from it.
    /// Errors in attribute options go to `errors`; the model is still
    /// complete, with defaults where an option was invalid.
    pub(crate) fn parse_impl(mut item: ItemImpl, options: Options, errors: &mut Errors) -> Router {
        let name = type_ident(&item.self_ty).unwrap_or_else(|| {
            errors.spanned(
                &item.self_ty,
                "#[rpc::router] needs a named type, such as `impl Calculator { .. }`",
            );
            Ident::new("Router", Span::call_site())
        });
        let docs = names::doc_text(&item.attrs);
        let krate = options.krate.as_ref();
        let mut methods = Vec::new();
        for impl_item in &mut item.items {
            if let ImplItem::Fn(function) = impl_item {
                let Some(method) =
                    Method::parse(&mut function.attrs, &mut function.sig, krate, errors)
                else {
                    continue;
                };
                // The DSL requires `async fn` even when a body never awaits.
                if function.sig.asyncness.is_some() {
                    function
                        .attrs
                        .push(parse_quote!(#[allow(clippy::unused_async)]));
                }
                methods.push(method);
            } else if let Some(attrs) = item_attrs(impl_item) {
                for (attr, kind) in take_method_attrs(attrs, krate) {
                    errors.spanned(
                        &attr,
                        format!("#[rpc::{kind}] goes on methods: `async fn name(&self, ..)`"),
                    );
                }
            }
        }
        Router {
            form: Form::Impl(item),
            name,
            docs,
            methods,
            options,
        }
    }

    /// Models a service trait, removing the method attributes from it (also
    /// from items that cannot carry them: `check` reports those items).
    pub(crate) fn parse_trait(
        mut item: ItemTrait,
        options: Options,
        errors: &mut Errors,
    ) -> Router {
        let docs = names::doc_text(&item.attrs);
        let krate = options.krate.as_ref();
        let mut methods = Vec::new();
        for trait_item in &mut item.items {
            if let TraitItem::Fn(function) = trait_item {
                if let Some(mut method) =
                    Method::parse(&mut function.attrs, &mut function.sig, krate, errors)
                {
                    method.default_body.clone_from(&function.default);
                    methods.push(method);
                }
            } else if let Some(attrs) = trait_item_attrs(trait_item) {
                // `check` refuses the item itself.
                take_method_attrs(attrs, krate);
            }
        }
        Router {
            name: item.ident.clone(),
            form: Form::Trait(item),
            docs,
            methods,
            options,
        }
    }
}

impl Method {
    /// Models a method with these attributes and signature if it carries a
    /// method attribute, removing it (and the `#[context]` marks of its
    /// parameters).
    fn parse(
        attrs: &mut Vec<Attribute>,
        sig: &mut Signature,
        krate: Option<&Path>,
        errors: &mut Errors,
    ) -> Option<Method> {
        let mut found = take_method_attrs(attrs, krate).into_iter();
        let (first, kind) = found.next()?;
        let extra_attrs = found.map(|(attr, _)| attr).collect();
        let options = attr::parse(&first, kind).unwrap_or_else(|error| {
            errors.push(error);
            attr::MethodAttr {
                kind,
                name: None,
                timeout: None,
                idempotent: false,
                inline: false,
            }
        });
        let marked = signature::take_context_marks(sig, errors);
        let sig = sig.clone();
        let ident = sig.ident.clone();
        let wire_name = options
            .name
            .as_ref()
            .map_or_else(|| ident.unraw().to_string(), LitStr::value);
        let doc_attrs: Vec<Attribute> = names::doc_attrs(attrs).cloned().collect();
        let ret = signature::ret(&sig.output);
        Some(Method {
            kind: options.kind,
            wire_name,
            name_lit: options.name,
            timeout_ms: options.timeout.map(|timeout| timeout.millis),
            idempotent: options.idempotent,
            inline: options.inline,
            docs: names::doc_text(&doc_attrs),
            doc_attrs,
            receiver: signature::receiver(&sig),
            args: signature::args(&sig, &marked),
            items: signature::items(&ret),
            ret,
            ident,
            sig,
            extra_attrs,
            default_body: None,
        })
    }

    /// The parameters the caller sends, in order.
    pub(crate) fn wire_args(&self) -> impl Iterator<Item = &WireArg> {
        self.args.iter().filter_map(|arg| match arg {
            Arg::Wire(wire) => Some(wire),
            Arg::Session(_) | Arg::Uploads(_) | Arg::Context(_) => None,
        })
    }

    /// The `Incoming<U>` parameter (the first, if there are several).
    pub(crate) fn uploads(&self) -> Option<&UploadsArg> {
        self.args.iter().find_map(|arg| match arg {
            Arg::Uploads(uploads) => Some(uploads),
            Arg::Session(_) | Arg::Wire(_) | Arg::Context(_) => None,
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

/// Removes the method attributes from the methods of `item`, an impl block
/// or a trait that the attribute is misplaced on: the error about the
/// attribute then stands alone.
pub(crate) fn strip_method_attrs(item: &mut syn::Item, krate: Option<&Path>) {
    let attrs: Vec<&mut Vec<Attribute>> = match item {
        syn::Item::Impl(item) => item
            .items
            .iter_mut()
            .filter_map(|item| match item {
                ImplItem::Fn(function) => Some(&mut function.attrs),
                _ => None,
            })
            .collect(),
        syn::Item::Trait(item) => item
            .items
            .iter_mut()
            .filter_map(|item| match item {
                TraitItem::Fn(function) => Some(&mut function.attrs),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for attrs in attrs {
        take_method_attrs(attrs, krate);
    }
}

/// Removes the method attributes from `attrs`.
fn take_method_attrs(attrs: &mut Vec<Attribute>, krate: Option<&Path>) -> Vec<(Attribute, Kind)> {
    let mut taken = Vec::new();
    attrs.retain(|attr| match attr::kind_of(attr, krate) {
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

/// The attributes of a trait item other than a method.
fn trait_item_attrs(item: &mut TraitItem) -> Option<&mut Vec<Attribute>> {
    match item {
        TraitItem::Const(item) => Some(&mut item.attrs),
        TraitItem::Type(item) => Some(&mut item.attrs),
        TraitItem::Macro(item) => Some(&mut item.attrs),
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

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn parse(item: ItemImpl) -> (Router, bool) {
        let mut errors = Errors::default();
        let router = Router::parse_impl(item, Options::default(), &mut errors);
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
        let Form::Impl(item) = &router.form else {
            panic!("an impl block");
        };
        let ImplItem::Fn(echo) = &item.items[0] else {
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

    #[test]
    fn models_a_service_trait() {
        let mut errors = Errors::default();
        let krate: Path = parse_quote!(my_lib::rpc);
        let options = Options {
            krate: Some(krate),
            ..Options::default()
        };
        let router = Router::parse_trait(
            parse_quote! {
                /// Lots and bids.
                pub trait Auction {
                    /// Bids on a lot.
                    #[my_lib::rpc::call(name = "auction.bid")]
                    async fn bid(&self, lot: u32, amount: u64) -> Result<u64, BidError>;

                    #[rpc::stream]
                    fn watch(&self, lot: u32) -> impl Stream<Item = u64> { todo!() }

                    #[rpc::cast]
                    const LIMIT: u32;

                    fn helper(&self);
                }
            },
            options,
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(router.name, "Auction");
        assert_eq!(router.docs, "Lots and bids.");
        assert_eq!(router.client_ident(), "AuctionClient");
        assert_eq!(router.server_ident(), "AuctionRouter");
        assert!(matches!(router.client_vis(), Visibility::Public(_)));
        let [bid, watch] = &router.methods[..] else {
            panic!("two methods");
        };
        assert_eq!(
            (bid.kind, bid.wire_name.as_str()),
            (Kind::Call, "auction.bid")
        );
        assert_eq!(bid.docs, "Bids on a lot.");
        assert!(bid.default_body.is_none());
        assert_eq!(watch.shape(), Shape::ServerStream);
        assert!(watch.default_body.is_some());
        let Form::Trait(item) = &router.form else {
            panic!("a trait");
        };
        let TraitItem::Const(limit) = &item.items[2] else {
            panic!("a const");
        };
        assert!(limit.attrs.is_empty(), "the misplaced attribute is removed");
    }
}
