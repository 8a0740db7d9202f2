//! Code generation, one module per output. Generated code names every item
//! by an absolute path through `::rpc::__private`, so it compiles under
//! `#![no_implicit_prelude]` and needs no dependency but `rpc`.
//!
//! A router expands to:
//!
//! ```text
//! impl Calculator { .. }            the user's impl block, method attributes removed
//! const _: () = {
//!     static PARAMS_0: [ParamInfo; 2] = ..;   metadata (metadata.rs)
//!     static METHODS: [MethodInfo; 3] = ..;
//!     static INFO: RouterInfo = ..;
//!     impl Router for Calculator { .. }       dispatch table (dispatch.rs)
//!     inventory::submit! { .. }               registration (metadata.rs)
//!     let _ = assert_arg::<i64>; ..           bound checks (bounds.rs)
//! };
//! pub struct CalculatorClient { .. }  typed stub (client.rs)
//! ```

mod bounds;
mod client;
mod dispatch;
mod metadata;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Item;

use crate::{ast::Router, attr::Kind, check, errors::Errors};

/// `#[rpc::router]`: parse, check, then expand, or on errors emit the impl
/// block as written (so its methods still exist) next to the errors.
pub(crate) fn router(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.spanned(
            args,
            "#[rpc::router] takes no options: `name` and `timeout` go on each method's #[rpc::call(..)], #[rpc::cast(..)] or #[rpc::stream(..)]",
        );
    }
    let item = match syn::parse2::<Item>(input) {
        Ok(Item::Impl(item)) => item,
        Ok(other) => {
            let message = match &other {
                Item::Struct(item) => not_an_impl("a struct", &item.ident),
                Item::Enum(item) => not_an_impl("an enum", &item.ident),
                Item::Trait(item) => format!(
                    "#[rpc::router] goes on an inherent impl block, not on a trait: serve the methods from `impl MyType {{ .. }}`, not from `trait {}`",
                    item.ident
                ),
                _ => "#[rpc::router] goes on an impl block whose methods it serves: `impl Calculator { .. }`".to_owned(),
            };
            errors.push(syn::Error::new(Span::call_site(), message));
            let errors = errors.into_compile_errors();
            return quote!(#other #errors);
        }
        Err(error) => {
            // Unreachable in practice: the compiler parsed the item already.
            errors.push(error);
            return errors.into_compile_errors();
        }
    };
    let router = Router::parse(item, &mut errors);
    check::router(&router, &mut errors);
    if errors.is_empty() {
        expand(&router)
    } else {
        fallback(&router, errors)
    }
}

fn not_an_impl(what: &str, ident: &syn::Ident) -> String {
    format!(
        "#[rpc::router] goes on an impl block, not on {what}: put it on `impl {ident} {{ .. }}`, whose methods it serves"
    )
}

/// The expansion of a router that passed every check.
pub(crate) fn expand(router: &Router) -> TokenStream {
    let item = &router.item;
    let metadata = metadata::statics(router);
    let dispatch = dispatch::router_impl(router);
    let registration = metadata::registration();
    let bounds = bounds::assertions(router);
    let client = client::stub(router);
    quote! {
        #item

        const _: () = {
            #metadata
            #dispatch
            #registration
            #bounds
        };

        #client
    }
}

/// What an invalid router expands to: the impl block, the errors, and (when
/// the type allows) an empty `Router` impl, so that code mounting the router
/// reports nothing more than the errors above.
fn fallback(router: &Router, errors: Errors) -> TokenStream {
    let item = &router.item;
    let errors = errors.into_compile_errors();
    let router_impl = if item.trait_.is_none() && item.generics.params.is_empty() {
        let ty = &item.self_ty;
        quote! {
            impl ::rpc::__private::rpc_core::Router for #ty {
                fn info(&self) -> &'static ::rpc::__private::rpc_core::RouterInfo {
                    loop {}
                }

                fn dispatch(
                    self: ::rpc::__private::Arc<Self>,
                    _: usize,
                    _: ::rpc::__private::rpc_core::Request,
                ) -> ::rpc::__private::rpc_core::HandlerFuture {
                    loop {}
                }
            }
        }
    } else {
        TokenStream::new()
    };
    quote! {
        #item
        #router_impl
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
            "#[rpc::{kind}] only works on {method} inside an impl block marked #[rpc::router]: add #[rpc::router] to the impl block, or move the method into one"
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

    /// Calls with and without `Result`, options, a cast with the session.
    #[test]
    fn calculator() {
        let item: ItemImpl = parse_quote! {
            /// Arithmetic over the wire.
            impl Calculator {
                /// Adds two numbers.
                #[rpc::call]
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
}
