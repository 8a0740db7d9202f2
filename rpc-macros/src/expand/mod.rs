//! Code generation, one module per output. Generated code names every item
//! by an absolute path through `::rpc::__private` (or the `crate = "..."`
//! option's path), so it compiles under `#![no_implicit_prelude]` and needs
//! no dependency but `rpc`; inside the `const _` block, through one import
//! of it as `__private`.
//!
//! A router expands to:
//!
//! ```text
//! impl Calculator { .. }            the user's impl block, method attributes removed
//! const _: () = {
//!     use ::rpc::__private as __private;
//!     static PARAMS_0: [ParamInfo; 2] = ..;   metadata (metadata.rs)
//!     static METHODS: [MethodInfo; 3] = ..;
//!     static INFO: RouterInfo = ..;
//!     impl Router for Calculator { .. }       dispatch table (dispatch.rs)
//!     inventory::submit! { .. }               registration (metadata.rs)
//!     let _ = assert_error::<DivError>; ..    bound checks of error types (bounds.rs)
//! };
//! pub struct CalculatorClient { .. }  typed stub (client.rs), with the
//!                                     router's type schemas (schema.rs)
//! ```
//!
//! A service trait expands to the same, around a different item and router
//! (service.rs):
//!
//! ```text
//! pub trait Auction: Send + Sync + 'static { .. }   the trait, its futures declared `Send`
//! pub struct AuctionRouter<S> { .. }                 serves any `S: Auction`
//! const _: () = {
//!     ..                                             metadata, as above
//!     impl<S: Auction> Router for AuctionRouter<S> { .. }
//!     ..                                             registration and bound checks
//! };
//! pub struct AuctionClient { .. }
//! pub struct AuctionPush { .. }                   with casts: typed pushes through a PushHandle
//! pub struct AuctionBroadcast<'a> { .. }          and through a Registry, encoded once
//! ```

mod bounds;
mod client;
mod dispatch;
mod metadata;
mod push;
mod schema;
mod service;
mod wire;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::Item;

use crate::{
    ast::{self, Form, Router},
    attr::Kind,
    check,
    errors::Errors,
    options::{self, Container, Options},
};

/// `#[rpc::router]` on an impl block.
pub(crate) fn router(args: TokenStream, input: TokenStream) -> TokenStream {
    attribute(Container::Router, args, input)
}

/// `#[rpc::service]` on a trait.
pub(crate) fn service(args: TokenStream, input: TokenStream) -> TokenStream {
    attribute(Container::Service, args, input)
}

/// Parse, check, then expand; on errors emit the item as written (so its
/// methods still exist) next to the errors.
fn attribute(container: Container, args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = options::parse(container, args, &mut errors);
    let item = match syn::parse2::<Item>(input) {
        Ok(item) => item,
        Err(error) => {
            // Unreachable in practice: the compiler parsed the item already.
            errors.push(error);
            return errors.into_compile_errors();
        }
    };
    let router = match (container, item) {
        (Container::Router, Item::Impl(item)) => Router::parse_impl(item, options, &mut errors),
        (Container::Service, Item::Trait(item)) => Router::parse_trait(item, options, &mut errors),
        (_, other) => return misapplied(container, other, &options, errors),
    };
    check::router(&router, &mut errors);
    if errors.is_empty() {
        expand(&router)
    } else {
        fallback(&router, errors)
    }
}

/// The attribute on an item it does not go on: the item as written, and an
/// error saying where the attribute goes.
fn misapplied(
    container: Container,
    mut item: Item,
    options: &Options,
    mut errors: Errors,
) -> TokenStream {
    let message = match (container, &item) {
        (Container::Router, Item::Trait(item)) => format!(
            "#[rpc::router] goes on an impl block, not on a trait: to declare methods that a client and a server share, put #[rpc::service] on `trait {}`, or serve them from `impl MyType {{ .. }}` with #[rpc::router]",
            item.ident
        ),
        (Container::Router, Item::Struct(item)) => not_an_impl("a struct", &item.ident),
        (Container::Router, Item::Enum(item)) => not_an_impl("an enum", &item.ident),
        (Container::Router, _) => {
            "#[rpc::router] goes on an impl block whose methods it serves: `impl Calculator { .. }`"
                .to_owned()
        }
        (Container::Service, Item::Impl(_)) => "#[rpc::service] goes on a trait that declares the methods: `trait Auction { .. }`; to serve the methods of an impl block, use #[rpc::router]".to_owned(),
        (Container::Service, _) => "#[rpc::service] goes on a trait that declares the methods: `trait Auction { .. }`".to_owned(),
    };
    errors.push(syn::Error::new(Span::call_site(), message));
    ast::strip_method_attrs(&mut item, options.krate.as_ref());
    let errors = errors.into_compile_errors();
    quote!(#item #errors)
}

fn not_an_impl(what: &str, ident: &syn::Ident) -> String {
    format!(
        "#[rpc::router] goes on an impl block, not on {what}: put it on `impl {ident} {{ .. }}`, whose methods it serves"
    )
}

/// The expansion of a router that passed every check.
pub(crate) fn expand(router: &Router) -> TokenStream {
    let (item, server) = match &router.form {
        Form::Impl(item) => (quote!(#item), TokenStream::new()),
        Form::Trait(item) => (
            service::trait_item(router, item),
            service::server_type(router, item),
        ),
    };
    let metadata = metadata::statics(router);
    let dispatch = dispatch::router_impl(router);
    let registration = metadata::registration();
    let bounds = bounds::assertions(router);
    let client = client::stub(router);
    let push = push::stubs(router);
    let import = import(router);
    quote! {
        #item
        #server

        const _: () = {
            #import
            #metadata
            #dispatch
            #registration
            #bounds
        };

        #client
        #push
    }
}

/// How the code in the `const _` block names the runtime: `__private`,
/// imported once at the top of the block by [`import`]. A `crate = "..."`
/// path that does not resolve is then one error, at the import, however
/// many uses follow.
fn local() -> TokenStream {
    quote!(__private)
}

/// `use ::rpc::__private as __private;`, or the `crate = "..."` path's.
fn import(router: &Router) -> TokenStream {
    let private = router.private();
    quote!(use #private as __private;)
}

/// What an invalid router expands to: the item, the errors, and (when the
/// item allows) placeholders of the router and the stub, so that code
/// mounting the router or naming the stub reports nothing more than the
/// errors above.
fn fallback(router: &Router, errors: Errors) -> TokenStream {
    let errors = errors.into_compile_errors();
    let router_impl = dispatch::placeholder_impl(router);
    let (item, server, client) = match &router.form {
        Form::Trait(item) if item.generics.params.is_empty() => (
            service::shared(router, item).into_token_stream(),
            service::server_type(router, item),
            client::placeholder(router),
        ),
        Form::Trait(item) => (quote!(#item), TokenStream::new(), TokenStream::new()),
        Form::Impl(item) => (quote!(#item), TokenStream::new(), TokenStream::new()),
    };
    quote! {
        #item
        #server
        #router_impl
        #client
        #errors
    }
}

/// A method attribute outside a router: the router macro removes these
/// attributes from its methods, so reaching here means the attribute is
/// misplaced.
pub(crate) fn misplaced(kind: Kind, _args: TokenStream, input: TokenStream) -> TokenStream {
    let method = match kind {
        Kind::Call | Kind::Cast => "an `async fn`",
        Kind::Stream => "a method",
    };
    let error = syn::Error::new(
        Span::call_site(),
        format!(
            "#[rpc::{kind}] only works on {method} inside an impl block marked #[rpc::router] or a trait marked #[rpc::service]: add one of them, or move the method into one (the methods of an implementation of a service trait take no attribute: the trait's apply)"
        ),
    )
    .to_compile_error();
    let mut output = input;
    output.extend(error);
    output
}

#[cfg(test)]
mod tests {
    use quote::ToTokens;
    use syn::{ItemImpl, parse_quote};

    /// The expansion of `#[rpc::router]` on `item`, formatted.
    fn expand(item: &ItemImpl) -> String {
        let tokens = super::router(TokenStream::new(), item.to_token_stream());
        match syn::parse2::<syn::File>(tokens.clone()) {
            Ok(file) => prettyplease::unparse(&file),
            Err(error) => panic!("expansion does not parse ({error}): {tokens}"),
        }
    }

    use super::*;

    /// The expansion of `#[rpc::service(args)]` on `item`, formatted.
    fn expand_service(args: TokenStream, item: &syn::ItemTrait) -> String {
        let tokens = super::service(args, item.to_token_stream());
        match syn::parse2::<syn::File>(tokens.clone()) {
            Ok(file) => prettyplease::unparse(&file),
            Err(error) => panic!("expansion does not parse ({error}): {tokens}"),
        }
    }

    /// Calls with and without `Result`, options (an idempotent call), a
    /// cast with the session.
    #[test]
    fn calculator() {
        let item: ItemImpl = parse_quote! {
            /// Arithmetic over the wire.
            impl Calculator {
                /// Adds two numbers.
                #[rpc::call(idempotent)]
                async fn add(&self, a: i64, b: i64) -> i64 {
                    a + b
                }

                /// Divides `a` by `b`.
                ///
                /// Fails on a zero divisor.
                #[rpc::call(name = "math.div", timeout = "2s")]
                async fn div(&self, a: i64, b: i64) -> Result<i64, DivError> {
                    if b == 0 { Err(DivError::ByZero) } else { Ok(a / b) }
                }

                /// Writes a line to the server's log.
                #[rpc::cast]
                async fn log(&self, session: &rpc::Session, line: String) {
                    self.lines.lock().push((session.id(), line));
                }

                fn helper(&self) -> u8 {
                    7
                }
            }
        };
        insta::assert_snapshot!(expand(&item));
    }

    /// `self: Arc<Self>`, no arguments, unit calls, destructuring patterns,
    /// a session in the middle, an undocumented method.
    #[test]
    fn receivers_and_patterns() {
        let item: ItemImpl = parse_quote! {
            impl crate::chat::Room {
                #[rpc::call]
                async fn ping(self: Arc<Self>) {}

                #[rpc::call(timeout = "500ms")]
                async fn members(&self) -> Vec<String> {
                    self.members.lock().clone()
                }

                /// Moves the cursor.
                #[rpc::cast(name = "cursor.move")]
                async fn move_to(&self, (x, y): (u32, u32), session: &Session, _: bool) {}
            }
        };
        insta::assert_snapshot!(expand(&item));
    }

    /// The three kinds of stream: server (plain, fallible items, refusable,
    /// from a plain `fn`), client (with a `Result` answer) and
    /// bidirectional (with the session and a renamed wire name).
    #[test]
    fn streams() {
        let item: ItemImpl = parse_quote! {
            /// Streams every way.
            impl Feeds {
                /// Ticks every `every_ms` milliseconds.
                #[rpc::stream(timeout = "1h")]
                fn ticks(&self, every_ms: u64) -> impl Stream<Item = Tick> + Send + 'static {
                    ticker(every_ms)
                }

                /// Lines of a log, until it fails.
                #[rpc::stream]
                async fn tail(&self, path: String) -> Result<impl Stream<Item = Result<String, ReadError>>, OpenError> {
                    open(path).await
                }

                /// Adds up the uploads.
                #[rpc::stream]
                async fn sum(self: Arc<Self>, mut numbers: rpc::Incoming<u64>) -> Result<u64, Overflow> {
                    todo!()
                }

                #[rpc::stream(name = "chat.join")]
                async fn chat(&self, room: String, session: &Session, lines: Incoming<Line>) -> BoxStream<'static, Line> {
                    todo!()
                }
            }
        };
        insta::assert_snapshot!(expand(&item));
    }

    /// `inline` on a call and a cast, between methods without it: the
    /// `Router` impl gains `runs_inline`, true for their indexes (the order
    /// of `dispatch` and the metadata); nothing else changes.
    #[test]
    fn inline() {
        let item: ItemImpl = parse_quote! {
            impl Counter {
                #[rpc::call(inline)]
                async fn get(&self) -> u64 {
                    self.count.load(Ordering::Relaxed)
                }

                #[rpc::call]
                async fn save(&self) -> Result<(), SaveError> {
                    self.disk.write(self.count.load(Ordering::Relaxed)).await
                }

                #[rpc::cast(inline, name = "counter.bump")]
                async fn bump(&self, by: u64) {
                    self.count.fetch_add(by, Ordering::Relaxed);
                }

                #[rpc::stream]
                fn watch(&self) -> impl Stream<Item = u64> + Send + 'static {
                    self.changes()
                }
            }
        };
        insta::assert_snapshot!(expand(&item));

        let service: syn::ItemTrait = parse_quote! {
            pub trait Counter {
                #[rpc::call]
                async fn save(&self);

                #[rpc::cast(inline)]
                async fn bump(&self, by: u64);
            }
        };
        let expanded = expand_service(TokenStream::new(), &service);
        let squeezed: String = expanded.split_whitespace().collect();
        let expected = [
            "impl<__Service: Counter> __private::rpc_core::Router for CounterRouter<__Service>",
            "fn runs_inline(&self, method: usize) -> bool { match method { 1usize => true, _ => false, } }",
        ];
        for expected in expected {
            let expected: String = expected.split_whitespace().collect();
            assert!(squeezed.contains(&expected), "{expected} in {expanded}");
        }
    }

    /// A plain `fn` marked `inline` answers without a future: the `Router`
    /// impl gains `dispatch_now` with an arm for each such method on
    /// `&self` (an `async fn`, or one on `Arc<Self>`, keeps only its
    /// `dispatch` arm), and the rest gives the request back.
    #[test]
    fn sync_inline() {
        let item: ItemImpl = parse_quote! {
            impl Counter {
                #[rpc::call(inline)]
                fn add(&self, by: u64, session: &Session) -> Result<u64, Overflow> {
                    self.count.add(by)
                }

                #[rpc::call(inline)]
                async fn get(&self) -> u64 {
                    self.count.load(Ordering::Relaxed)
                }

                #[rpc::cast(inline)]
                fn bump(&self) {
                    self.count.fetch_add(1, Ordering::Relaxed);
                }

                #[rpc::call(inline)]
                fn owner(self: Arc<Self>) -> u64 {
                    self.owner
                }
            }
        };
        insta::assert_snapshot!(expand(&item));

        let service: syn::ItemTrait = parse_quote! {
            pub trait Counter {
                #[rpc::call(inline)]
                fn get(&self) -> u64;
            }
        };
        let expanded = expand_service(TokenStream::new(), &service);
        let squeezed: String = expanded.split_whitespace().collect();
        let expected =
            "fn dispatch_now(&self, method: usize, request: __private::rpc_core::Request,)";
        let expected: String = expected.split_whitespace().collect();
        assert!(squeezed.contains(&expected), "{expected} in {expanded}");
        assert!(
            squeezed.contains("0usize=>{__private::Ok((move||"),
            "{expanded}"
        );
    }

    /// Without `inline`, the provided `runs_inline` stands.
    #[test]
    fn no_inline_method_no_override() {
        let item: ItemImpl = parse_quote! {
            impl Echo {
                #[rpc::call(idempotent)]
                async fn echo(&self, text: String) -> String { text }
            }
        };
        let expanded = expand(&item);
        assert!(!expanded.contains("runs_inline") && !expanded.contains("dispatch_now"));
    }

    /// A router with mistakes: the impl block comes back without the method
    /// attributes, with every error and an empty `Router` impl.
    #[test]
    fn invalid_router() {
        let item: ItemImpl = parse_quote! {
            impl Broken {
                #[rpc::call(retries = 3)]
                async fn first(&self) {}

                #[rpc::cast]
                fn second(self) -> u8 { 2 }
            }
        };
        insta::assert_snapshot!(expand(&item));
    }

    #[test]
    fn misplaced_attribute() {
        let item: syn::ItemFn = parse_quote! {
            async fn alone() {}
        };
        let tokens = misplaced(Kind::Call, TokenStream::new(), item.to_token_stream());
        let file: syn::File = syn::parse2(tokens).expect("parses");
        insta::assert_snapshot!(prettyplease::unparse(&file));
    }

    /// A service trait of every kind of method: the trait comes back with
    /// its futures and streams declared `Send`, beside the generic router,
    /// the same metadata and dispatch as an impl block, and the stub.
    #[test]
    fn service() {
        let item: syn::ItemTrait = parse_quote! {
            /// Lots and bids.
            pub trait Auction {
                /// Bids `amount` on `lot`; returns the highest bid.
                #[rpc::call(timeout = "2s", idempotent)]
                async fn bid(&self, lot: u32, amount: u64) -> Result<u64, BidError>;

                /// Leaves a note; says who in the log.
                #[rpc::cast(name = "auction.note")]
                async fn note(self: Arc<Self>, session: &rpc::Session, text: String);

                /// Every new highest bid on `lot`.
                #[rpc::stream]
                fn watch(&self, lot: u32) -> impl Stream<Item = u64>;

                /// The bids of a closed lot, refused for an open one.
                #[rpc::stream]
                async fn history(&self, lot: u32) -> Result<impl Stream<Item = Result<u64, Gone>> + Send, Open>;

                /// Bids on many lots at once.
                #[rpc::stream]
                async fn bulk(&self, bids: rpc::Incoming<(u32, u64)>) -> u64;
            }
        };
        insta::assert_snapshot!(expand_service(TokenStream::new(), &item));
    }

    /// `crate`, `client` and `client_vis`: generated code names the given
    /// path and nothing under `::rpc`.
    #[test]
    fn options() {
        let item: syn::ItemTrait = parse_quote! {
            pub(crate) trait Ping {
                #[my_lib::rpc::call]
                async fn ping(&self, n: u8) -> u8;
            }
        };
        let args = quote!(
            crate = "my_lib::rpc",
            client = "Pinger",
            client_vis = "pub(super)"
        );
        let expanded = expand_service(args, &item);
        let elsewhere = expanded.replace("my_lib::rpc::", "");
        assert!(!elsewhere.contains("::rpc::"), "{expanded}");
        insta::assert_snapshot!(expanded);

        let item: ItemImpl = parse_quote! {
            impl Echo {
                #[::echo_rpc::call]
                async fn echo(&self, text: String) -> String { text }
            }
        };
        let tokens = super::router(
            quote!(crate = "::echo_rpc", client = "EchoStub", client_vis = ""),
            item.to_token_stream(),
        );
        let expanded = tokens.to_string();
        assert!(!expanded.contains(":: rpc ::"), "{expanded}");
        assert!(expanded.contains("struct EchoStub"), "{expanded}");
        assert!(!expanded.contains("pub struct EchoStub"), "{expanded}");
    }

    /// A service with mistakes: the trait as written, without the method
    /// attributes, with every error and placeholders of the router and the
    /// stub.
    #[test]
    fn invalid_service() {
        let item: syn::ItemTrait = parse_quote! {
            pub trait Broken {
                #[rpc::call]
                async fn first(&self) -> u8 { 1 }

                fn second(&self);
            }
        };
        insta::assert_snapshot!(expand_service(TokenStream::new(), &item));
    }
}
