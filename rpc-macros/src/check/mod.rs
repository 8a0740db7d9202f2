//! Checks that need the whole model: the item's shape (`item`), each method's
//! signature (async-ness, receiver, generics, parameters, return type, the
//! shape of a stream) and names across methods, including the names the
//! client stub adds. Every failure is recorded, so one build reports them
//! all, each at the tokens to change and saying what to write instead.
//!
//! Trait bounds (`Serialize`, `Deserialize`, `Display`) are not checked here:
//! only the compiler knows them; `expand::bounds` makes its errors point at
//! the user's types.

mod item;

use std::collections::HashMap;

use quote::quote;
use syn::{
    Lifetime, ReturnType, Type, TypeImplTrait, TypeReference,
    ext::IdentExt,
    visit::{self, Visit},
};

use crate::{
    ast::{Arg, Method, Receiver, Return, Router, Shape, UploadsArg},
    attr::Kind,
    errors::Errors,
};

/// Prefix of the protocol's own method names.
const RESERVED_PREFIX: &str = "rpc.";

/// The longest wire name a peer may send, in bytes
/// (`rpc_core::protocol::bounds::MAX_NAME`); mounting refuses longer ones.
const MAX_NAME: usize = 256;

/// Names the generated stubs (client, push) use for their own items.
const STUB_ITEMS: [&str; 5] = [
    "new",
    "peer",
    "with_options",
    "with_policy",
    "with_priority",
];

/// Records every problem of `router` in `errors`.
pub(crate) fn router(router: &Router, errors: &mut Errors) {
    item::check(router, errors);
    for method in &router.methods {
        signature(method, errors);
        receiver(method, errors);
        params(method, errors);
        returns(method, errors);
        name(method, errors);
    }
    duplicates(&router.methods, errors);
    stub_names(&router.methods, errors);
}

fn signature(method: &Method, errors: &mut Errors) {
    let sig = &method.sig;
    let ident = &method.ident;
    if let Some(extra) = method.extra_attrs.first() {
        errors.spanned(
            extra,
            "a method takes one of #[rpc::call], #[rpc::cast] and #[rpc::stream], once: remove this attribute",
        );
    }
    // A method returning a stream may make it without awaiting anything,
    // and an inline call or cast may answer without a future at all.
    let shape = method.shape();
    let may_be_sync = method.inline || matches!(shape, Shape::ServerStream | Shape::Bidirectional);
    if sig.asyncness.is_none() && !may_be_sync {
        match (named_stream(method), shape) {
            // A plain `fn` returning a stream by name meant to stream: the
            // fix is the return type, not `async` (`not_a_stream` says so
            // for a #[rpc::stream] method).
            (Some(_), Shape::NotAStream) => {}
            (Some((ty, written)), _) => errors.spanned(
                ty,
                format!(
                    "`{ident}` returns a stream by name, `{written}`: write `-> impl Stream<Item = T>` and mark it #[rpc::stream], which sends the items as they come and may be a plain `fn` (the client and the metadata need the item type)"
                ),
            ),
            (None, _) => {
                let fn_token = &sig.fn_token;
                let message = match shape {
                    Shape::Call | Shape::Cast => {
                        let kind = if shape == Shape::Cast { "cast" } else { "call" };
                        format!(
                            "rpc methods must be async: write `async fn {ident}`, or keep the plain `fn` and mark it #[rpc::{kind}(inline)] if it answers without waiting (it then runs on the session's reader)"
                        )
                    }
                    _ => format!("rpc methods must be async: write `async fn {ident}`"),
                };
                errors.spanned(quote!(#fn_token #ident), message);
            }
        }
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.spanned(
            unsafety,
            "rpc methods cannot be `unsafe`: a peer calls them with any arguments; remove `unsafe`",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, "rpc methods cannot have an ABI: remove it");
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.spanned(
            &sig.generics,
            "rpc methods cannot be generic: the wire carries concrete types, so replace each type parameter with the type callers send",
        );
    }
}

fn receiver(method: &Method, errors: &mut Errors) {
    let ident = &method.ident;
    match &method.receiver {
        Receiver::Ref | Receiver::Arc => {}
        Receiver::Missing => errors.spanned(
            ident,
            format!(
                "rpc methods are called on the router: add `&self` as the first parameter of `{ident}`"
            ),
        ),
        Receiver::Other(receiver) if receiver.colon_token.is_none() => {
            let message = if receiver.mutability.is_some() && receiver.reference.is_some() {
                "calls run concurrently on a shared router, so methods cannot take `&mut self`: take `&self` and keep mutable state behind a `Mutex` or an atomic"
            } else {
                "the router is shared by every call, so methods cannot take `self` by value: take `&self` (or `self: Arc<Self>` to keep the router alive in a task)"
            };
            errors.spanned(receiver, message);
        }
        Receiver::Other(receiver) => errors.spanned(
            receiver,
            "rpc methods take `&self` or `self: Arc<Self>`; write one of them",
        ),
    }
}

fn params(method: &Method, errors: &mut Errors) {
    let mut sessions = 0;
    let mut uploads = 0;
    for arg in &method.args {
        match arg {
            Arg::Uploads(upload) => {
                uploads += 1;
                uploads_param(method, upload, uploads, errors);
            }
            Arg::Session(session) => {
                sessions += 1;
                if sessions > 1 {
                    errors.spanned(
                        &session.param,
                        "only one `&Session` parameter is allowed: remove this one and use the other",
                    );
                } else if session.mutable {
                    errors.spanned(
                        &session.param.ty,
                        "the session is shared with other calls: take it as `&Session`",
                    );
                }
            }
            Arg::Context(context) => {
                if let Some(reference) = &context.reference {
                    let ty = &context.ty;
                    errors.spanned(
                        reference,
                        format!(
                            "context parameters are taken from each request and owned by the handler: take `{}` by value",
                            quote::quote!(#ty).to_string().replace(' ', "")
                        ),
                    );
                }
            }
            Arg::Wire(wire) => {
                if let Type::Reference(reference) = &wire.ty {
                    errors.spanned(
                        reference,
                        format!(
                            "arguments are decoded from the wire and cannot be borrowed: take {} by value; only `&rpc::Session` may be a reference",
                            owned_suggestion(reference)
                        ),
                    );
                    continue;
                }
                wire_type(&wire.ty, "arguments", errors);
            }
        }
    }
}

/// An `Incoming<U>` parameter, the `count`th of its method.
fn uploads_param(method: &Method, upload: &UploadsArg, count: usize, errors: &mut Errors) {
    let ident = &method.ident;
    if method.kind != Kind::Stream {
        errors.spanned(
            &upload.param.ty,
            format!(
                "only #[rpc::stream] methods receive an upload stream: mark `{ident}` #[rpc::stream], or take the items as one argument such as `Vec<U>`"
            ),
        );
        return;
    }
    if count > 1 {
        errors.spanned(
            &upload.param,
            "only one `Incoming` parameter is allowed: a stream has one upload direction; send several kinds of items as one enum",
        );
        return;
    }
    if let Some(reference) = &upload.reference {
        errors.spanned(
            reference,
            format!(
                "take the upload stream by value, `{}`, not by reference: the method owns the stream it reads",
                crate::names::type_name(&reference.elem)
            ),
        );
    }
    match &upload.item {
        Some(item) => wire_type(item, "upload items", errors),
        None => errors.spanned(
            &upload.param.ty,
            "`Incoming` needs the item type: write `Incoming<U>`, where `U` is what the caller uploads",
        ),
    }
}

fn returns(method: &Method, errors: &mut Errors) {
    let output = &method.sig.output;
    let ident = &method.ident;
    let shape = method.shape();
    if matches!(shape, Shape::Call | Shape::Cast) && method.items.is_some() {
        errors.spanned(
            output,
            format!(
                "`{ident}` returns a stream: mark it #[rpc::stream], which sends the items to the caller as they come"
            ),
        );
        return;
    }
    match (shape, &method.ret, &method.items) {
        (Shape::ServerStream | Shape::Bidirectional, _, Some(items)) => {
            wire_type(&items.item, "stream items", errors);
            if let Some(refusal) = &items.refusal {
                wire_type(refusal, "errors", errors);
            }
        }
        (Shape::NotAStream, ..) => not_a_stream(method, errors),
        (_, Return::Unit, _) => {}
        (Shape::Cast, ..) => errors.spanned(
            output,
            "a cast sends no reply, so it cannot return a value: remove the return type, or make the method #[rpc::call]",
        ),
        (_, Return::Value(ty) | Return::Result { whole: ty, .. }, _) => {
            wire_type(ty, "return values", errors);
        }
    }
}

/// A `#[rpc::stream]` method that neither returns a stream nor takes one.
fn not_a_stream(method: &Method, errors: &mut Errors) {
    let ident = &method.ident;
    let message = format!(
        "`{ident}` is #[rpc::stream] but streams nothing: return `impl Stream<Item = T>` to send items as they come, take an `rpc::Incoming<U>` parameter to receive the caller's uploads, or both; a method that answers once is #[rpc::call]"
    );
    match (&method.sig.output, named_stream(method)) {
        (_, Some((ty, written))) => errors.spanned(
            ty,
            format!(
                "{message} (a stream must be written `impl Stream<Item = T>`, not `{written}`: the client and the metadata need its item type)"
            ),
        ),
        (ReturnType::Type(_, ty), None) => errors.spanned(ty, message),
        (ReturnType::Default, None) => errors.spanned(ident, message),
    }
}

/// The return type and its text, when it names a stream type rather than
/// writing `impl Stream<Item = T>`: a type whose name ends in `Stream`
/// (`ReceiverStream<T>`, `BoxStream<'_, T>`) or one from a `stream` module
/// (`futures::stream::Iter<I>`, `tokio_stream::Once<T>`). A guess from the
/// tokens, used only to say what to write in an error already reported.
fn named_stream(method: &Method) -> Option<(&Type, String)> {
    let ReturnType::Type(_, ty) = &method.sig.output else {
        return None;
    };
    let written = crate::names::type_name(ty);
    let named = written
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word.ends_with("Stream") || word == "stream" || word.ends_with("_stream"));
    named.then_some((&**ty, written))
}

/// What a wire type must not contain: `impl Trait`, borrows, `Self`.
fn wire_type(ty: &Type, what: &str, errors: &mut Errors) {
    let mut found = Findings::default();
    found.visit_type(ty);
    for impl_trait in found.impl_traits {
        errors.spanned(
            impl_trait,
            format!("{what} travel over the wire, so they need a concrete type: replace `impl Trait` with the type itself"),
        );
    }
    for reference in found.references {
        errors.spanned(
            reference,
            format!(
                "{what} travel over the wire and cannot borrow: use {} instead",
                owned_suggestion(reference)
            ),
        );
    }
    for lifetime in found.lifetimes {
        errors.spanned(
            lifetime,
            format!("{what} travel over the wire and cannot borrow: use `'static` or an owned type instead of `{lifetime}`"),
        );
    }
    for self_type in found.self_types {
        errors.spanned(
            self_type,
            format!("{what} are also named by the generated client, where `Self` means something else: write the type's name"),
        );
    }
}

/// `String` for `&str`, `Vec<T>` for `&[T]`, `T` for `&T`.
fn owned_suggestion(reference: &TypeReference) -> String {
    let elem = &reference.elem;
    match &**elem {
        Type::Path(path) if path.path.is_ident("str") => "`String`".to_owned(),
        Type::Slice(slice) => {
            let item = &slice.elem;
            format!("`Vec<{}>`", crate::names::type_name(item))
        }
        _ => format!("`{}`", crate::names::type_name(elem)),
    }
}

#[derive(Default)]
struct Findings<'ast> {
    impl_traits: Vec<&'ast TypeImplTrait>,
    references: Vec<&'ast TypeReference>,
    lifetimes: Vec<&'ast Lifetime>,
    self_types: Vec<&'ast syn::Ident>,
}

impl<'ast> Visit<'ast> for Findings<'ast> {
    fn visit_type_impl_trait(&mut self, node: &'ast TypeImplTrait) {
        self.impl_traits.push(node);
    }

    fn visit_type_reference(&mut self, node: &'ast TypeReference) {
        // One error for the reference, none more for its lifetime.
        self.references.push(node);
    }

    fn visit_lifetime(&mut self, node: &'ast Lifetime) {
        if node.ident != "static" {
            self.lifetimes.push(node);
        }
    }

    fn visit_path(&mut self, node: &'ast syn::Path) {
        if let Some(first) = node.segments.first()
            && first.ident == "Self"
        {
            self.self_types.push(&first.ident);
        }
        visit::visit_path(self, node);
    }
}

fn name(method: &Method, errors: &mut Errors) {
    let ident = &method.ident;
    if let Some(lit) = &method.name_lit {
        if method.wire_name.is_empty() {
            errors.spanned(
                lit,
                format!(
                    "the wire name cannot be empty: remove `name` to use `{ident}`, or give a name"
                ),
            );
        } else if method.wire_name.starts_with(RESERVED_PREFIX) {
            errors.spanned(
                lit,
                format!("names starting with `{RESERVED_PREFIX}` are reserved for the protocol: choose another name"),
            );
        }
    } else if method.wire_name.starts_with(RESERVED_PREFIX) {
        errors.spanned(
            ident,
            "names starting with `rpc.` are reserved for the protocol",
        );
    }
    if method.wire_name.len() > MAX_NAME {
        let message = format!(
            "this wire name is {} bytes long, over the {MAX_NAME} a peer may send: choose a shorter name with #[rpc::{}(name = \"...\")]",
            method.wire_name.len(),
            method.kind
        );
        match &method.name_lit {
            Some(lit) => errors.spanned(lit, message),
            None => errors.spanned(ident, message),
        }
    }
    if STUB_ITEMS.iter().any(|item| ident == item) {
        errors.spanned(
            ident,
            format!(
                "`{ident}` is taken by the generated stubs' own `{ident}`: rename the method and keep the wire name with #[rpc::{}(name = \"{}\")]",
                method.kind, method.wire_name
            ),
        );
    }
}

/// The stub gives every stream method `x` a second method `x_with` taking
/// `StreamOptions`; it must not clash with another method's stub.
fn stub_names(methods: &[Method], errors: &mut Errors) {
    // Stub method name -> (the router method that makes it, whether it is
    // an `_with` variant).
    let mut taken: HashMap<String, (&Method, bool)> = HashMap::new();
    for method in methods {
        let own = method.ident.unraw().to_string();
        if let Some((stream, true)) = taken.get(&own) {
            errors.spanned(
                &method.ident,
                format!(
                    "`{own}` is taken by the generated client's `{own}`, which opens `{}` with stream options: rename this method and keep the wire name with #[rpc::{}(name = \"{}\")]",
                    stream.ident, method.kind, method.wire_name
                ),
            );
        }
        taken.entry(own.clone()).or_insert((method, false));
        if method.kind == Kind::Stream {
            let with = format!("{own}_with");
            if let Some((other, _)) = taken.get(&with) {
                errors.spanned(
                    &method.ident,
                    format!(
                        "the generated client gives this stream a `{with}` method, which opens it with stream options, and method `{}` has that name: rename one of them, keeping its wire name with `name = \"...\"`",
                        other.ident
                    ),
                );
            }
            taken.entry(with).or_insert((method, true));
        }
    }
}

fn duplicates(methods: &[Method], errors: &mut Errors) {
    let mut seen: HashMap<&str, &Method> = HashMap::new();
    for method in methods {
        if let Some(first) = seen.get(method.wire_name.as_str()) {
            let message = format!(
                "wire name `{}` is already used by method `{}`: give one of them another name with #[rpc::{}(name = \"...\")]",
                method.wire_name, first.ident, method.kind
            );
            match &method.name_lit {
                Some(lit) => errors.spanned(lit, message),
                None => errors.spanned(&method.ident, message),
            }
        } else {
            seen.insert(&method.wire_name, method);
        }
    }
}

#[cfg(test)]
mod tests {
    use syn::{ItemImpl, ItemTrait, parse_quote};

    use super::*;
    use crate::options::Options;

    /// The messages `check` reports for `item`, in order.
    pub(super) fn messages(item: ItemImpl) -> Vec<String> {
        let mut errors = Errors::default();
        let router = Router::parse_impl(item, Options::default(), &mut errors);
        super::router(&router, &mut errors);
        errors.into_messages()
    }

    /// The messages `check` reports for a service trait, in order.
    pub(super) fn trait_messages(item: ItemTrait) -> Vec<String> {
        let mut errors = Errors::default();
        let router = Router::parse_trait(item, Options::default(), &mut errors);
        super::router(&router, &mut errors);
        errors.into_messages()
    }

    #[test]
    fn a_valid_router_passes() {
        let found = messages(parse_quote! {
            impl Calculator {
                #[rpc::call]
                async fn add(&self, a: i64, b: i64) -> i64 { a + b }
                #[rpc::call(name = "math.div")]
                async fn div(self: Arc<Self>, s: &Session, a: i64, b: i64) -> Result<i64, DivError> { todo!() }
                #[rpc::cast]
                async fn log(&self, line: Cow<'static, str>) -> () {}
            }
        });
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let found = messages(parse_quote! {
            impl Calculator {
                #[rpc::call]
                fn sync(&self) {}
                #[rpc::call]
                async fn generic<T>(&mut self, t: T) {}
                #[rpc::cast]
                async fn cast(&self) -> u8 { 1 }
                #[rpc::call(name = "sync")]
                async fn again(&self, text: &str, a: &Session, b: &Session) -> &'static str { "" }
            }
        });
        let expected = [
            "rpc methods must be async",
            "rpc methods cannot be generic",
            "cannot take `&mut self`",
            "a cast sends no reply",
            "take `String` by value",
            "only one `&Session` parameter",
            "cannot borrow: use `String` instead",
            "wire name `sync` is already used by method `sync`",
        ];
        assert_each_contains(&found, &expected);
    }

    /// One message per expected part, in order, each containing its part.
    pub(super) fn assert_each_contains(found: &[String], expected: &[&str]) {
        assert_eq!(found.len(), expected.len(), "{found:#?}");
        for (message, part) in found.iter().zip(expected) {
            assert!(
                message.contains(part),
                "{message:?} should contain {part:?}"
            );
        }
    }

    #[test]
    fn valid_streams_pass() {
        let found = messages(parse_quote! {
            impl Feeds {
                #[rpc::stream(timeout = "1m")]
                fn ticks(&self, every: u64) -> impl Stream<Item = u64> { todo!() }
                #[rpc::stream]
                async fn sum(&self, s: &Session, numbers: Incoming<u64>) {}
                #[rpc::stream]
                fn shout(self: Arc<Self>, lines: rpc::Incoming<String>) -> Result<impl Stream<Item = Result<String, Gone>>, Full> { todo!() }
            }
        });
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn stream_misuse_is_reported() {
        let found = messages(parse_quote! {
            impl Feeds {
                #[rpc::stream]
                async fn once(&self) -> u64 { 1 }
                #[rpc::stream]
                async fn named(&self) -> ReceiverStream<u64> { todo!() }
                #[rpc::stream]
                async fn two(&self, a: Incoming<u64>, b: Incoming<u64>) {}
                #[rpc::stream]
                async fn borrowed(&self, a: &Incoming<u64>) {}
                #[rpc::stream]
                async fn untyped(&self, a: Incoming) {}
                #[rpc::stream]
                fn sync_upload(&self, a: Incoming<&'static str>) -> u64 { 1 }
                #[rpc::call]
                async fn call_upload(&self, a: Incoming<u64>) {}
                #[rpc::call]
                async fn call_stream(&self) -> impl Stream<Item = u64> { todo!() }
                #[rpc::stream]
                fn borrowing_items(&self) -> impl Stream<Item = &str> { todo!() }
                #[rpc::call]
                async fn sync_upload_with(&self) {}
                #[rpc::call]
                fn numbers(&self) -> futures::stream::Iter<Range<u64>> { todo!() }
                #[rpc::stream]
                fn receiver(&self) -> ReceiverStream<u64> { todo!() }
            }
        });
        let expected = [
            "`once` is #[rpc::stream] but streams nothing",
            "not `ReceiverStream<u64>`",
            "only one `Incoming` parameter",
            "take the upload stream by value, `Incoming<u64>`",
            "`Incoming` needs the item type",
            "rpc methods must be async: write `async fn sync_upload`",
            "upload items travel over the wire and cannot borrow",
            "only #[rpc::stream] methods receive an upload stream",
            "`call_stream` returns a stream: mark it #[rpc::stream]",
            "stream items travel over the wire and cannot borrow",
            "`numbers` returns a stream by name, `futures::stream::Iter<Range<u64>>`: write `-> impl Stream<Item = T>` and mark it #[rpc::stream]",
            "not `ReceiverStream<u64>`",
            "`sync_upload_with` is taken by the generated client's `sync_upload_with`",
        ];
        assert_each_contains(&found, &expected);
    }

    #[test]
    fn reserved_and_stub_names_are_refused() {
        let found = messages(parse_quote! {
            impl Calculator {
                #[rpc::call(name = "rpc.discover")]
                async fn discover(&self) {}
                #[rpc::call(name = "")]
                async fn empty(&self) {}
                #[rpc::call]
                async fn new(&self) {}
            }
        });
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].contains("reserved"));
        assert!(found[1].contains("cannot be empty"));
        assert!(found[2].contains("generated stubs' own `new`"));
    }
}
