//! Bidirectional RPC over WebSocket: either side calls, casts to, pushes
//! to, streams with and discovers the other over one connection.
//!
//! # Example
//!
//! A router, a server on a free port, a client that calls it through the
//! generated stub and asks what it serves:
//!
//! ```
//! use rpc::{Client, Server};
//!
//! struct Calculator;
//!
//! /// Integer arithmetic.
//! #[rpc::router]
//! impl Calculator {
//!     /// Adds two numbers.
//!     #[rpc::call]
//!     async fn add(&self, a: i64, b: i64) -> i64 {
//!         a + b
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::builder().mount(Calculator).bind("127.0.0.1:0").await?;
//! let client = Client::connect(&format!("ws://{}", server.local_addr().unwrap())).await?;
//!
//! let sum = CalculatorClient::new(client.peer()).add(2, 3).await?;
//! assert_eq!(sum, 5);
//!
//! let routers = client.peer().discover().await?;
//! assert_eq!(routers[0].methods[0].name, "add");
//! assert_eq!(routers[0].methods[0].docs, "Adds two numbers.");
//!
//! client.close().await;
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The same router tested without a socket, over the in-memory pair:
//!
//! ```
//! # struct Calculator;
//! # #[rpc::router]
//! # impl Calculator {
//! #     #[rpc::call]
//! #     async fn add(&self, a: i64, b: i64) -> i64 { a + b }
//! # }
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pair = rpc::testing::pair(
//!     rpc::Server::builder().mount(Calculator),
//!     rpc::Client::builder(),
//! )
//! .await?;
//! assert_eq!(CalculatorClient::new(pair.client.peer()).add(2, 3).await?, 5);
//! # Ok(())
//! # }
//! ```
//!
//! The macro writes an implementation of [`Router`]; one can also be written
//! by hand (see its documentation), and [`Peer::call`] calls any method by
//! name without a stub.
//!
//! # Features
//!
//! - Service traits: [`#[rpc::service]`](macro@service) declares the
//!   methods on a trait an API crate shares, so a client gets its stub and
//!   a server implements the trait without either compiling the other's
//!   code.
//! - Duplex sessions: a client mounts routers too, and the server calls it
//!   through [`Session::peer`].
//! - Push: [`PushHandle`]s reach a session from anywhere, with priorities
//!   and full-queue policies; the server's [`Registry`] finds sessions by
//!   id, identity or tag (a session may be in many rooms,
//!   [`Session::join`]) through indexes, tells arrivals and departures
//!   ([`Registry::events`]) and broadcasts encoded once; undelivered pushes
//!   go to a dead-letter queue.
//! - Scale-out (the `redis` feature): servers behind a load balancer are
//!   nodes of one [`Cluster`]; broadcasts and pushes reach sessions on
//!   every node through Redis pub/sub (`RedisBus`, or any [`Bus`]), with
//!   presence of identities per node; `docs/scale-out.md`.
//! - Streams: server, client and bidirectional ([`Incoming`],
//!   [`BidiStream`]) with credit flow control, cancellation both ways and
//!   idle timeouts; large messages travel in fragments.
//! - Limits with defaults on every resource, bounded in bytes: message
//!   size, calls in flight, inbound and outbound budgets, connections,
//!   handshake time, rates, reassembly ([`SessionConfig`], [`ServerConfig`],
//!   [`ClientConfig`]); heartbeats notice a dead peer.
//! - Testing without sockets: [`testing::pair`] connects a server's
//!   routers and a client's in memory, with the whole protocol, so a test
//!   can pause tokio's clock; [`testing::RouterHarness`] calls a router's
//!   handlers directly. The rest of the kit tests over real sockets: a
//!   [`testing::TestServer`] on a free port, and scripted peers
//!   ([`testing::FakePeer`], [`testing::FakeServer`]) that misbehave on
//!   cue; `docs/testing.md`.
//! - Typed errors ([`Error`], [`StreamError`], [`ConnectError`]) with
//!   predicates: `is_timeout()`, `is_closed()`, `is_busy()`.
//! - Graceful shutdown, authentication at upgrade time, tracing spans per
//!   session and per call.
//! - Metrics (the `metrics` feature, on by default): counters and
//!   histograms through the `metrics` facade, named in [`metrics`]; install
//!   an exporter to read them (`docs/observability.md`).
//! - TLS both ways with rustls (the `tls` feature, on by default; no
//!   OpenSSL): `wss://` URLs with [`ClientTls`] roots, servers that
//!   terminate TLS with a [`ServerTls`] certificate; `docs/deployment.md`.
//! - The wire format is specified in `docs/protocol.md`, byte by byte.
//!
//! # Layout
//!
//! This crate (the package `wsduplex` on crates.io, imported as `rpc`)
//! re-exports the runtime, `wsduplex-core`, and the attribute macros of
//! `wsduplex-macros`; the guides live in `docs/`.

pub use rpc_core::*;

/// Serves the `async fn`s of an impl block as a [`Router`] and generates a
/// typed client stub for them.
///
/// Put it on an inherent impl block and mark the methods to serve with
/// [`#[rpc::call]`](macro@call) (answers), [`#[rpc::cast]`](macro@cast)
/// (fire-and-forget) or [`#[rpc::stream]`](macro@stream) (streams of items
/// either way); other methods are left alone.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[derive(Default)]
/// struct Calculator {
///     logged: AtomicU64,
/// }
///
/// #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, rpc::Schema)]
/// enum DivError {
///     ByZero,
/// }
///
/// impl std::fmt::Display for DivError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("division by zero")
///     }
/// }
///
/// /// Arithmetic over the wire.
/// #[rpc::router]
/// impl Calculator {
///     /// Adds two numbers.
///     #[rpc::call]
///     async fn add(&self, a: i64, b: i64) -> i64 {
///         a + b
///     }
///
///     /// Divides `a` by `b`.
///     #[rpc::call(name = "math.div", timeout = "2s")]
///     async fn div(&self, a: i64, b: i64) -> Result<i64, DivError> {
///         if b == 0 { Err(DivError::ByZero) } else { Ok(a / b) }
///     }
///
///     /// Counts a log line; the session says who sent it.
///     #[rpc::cast]
///     async fn log(&self, session: &rpc::Session, line: String) {
///         let _ = (session.id(), line);
///         self.logged.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = rpc::Server::builder()
///     .mount(Calculator::default())
///     .bind("127.0.0.1:0")
///     .await?;
/// let client = rpc::Client::connect(&format!("ws://{}", server.local_addr().unwrap())).await?;
///
/// // The generated stub: one method per router method, same names and docs.
/// let calculator = CalculatorClient::new(client.peer());
/// assert_eq!(calculator.add(2, 3).await?, 5);
/// assert_eq!(calculator.div(7, 2).await?, Ok(3));
/// assert_eq!(calculator.div(1, 0).await?, Err(DivError::ByZero));
/// calculator.log("hello".to_owned()).await?;
///
/// // Reflection: what the server serves, with parameter types and docs.
/// let routers = client.peer().discover().await?;
/// let div = &routers[0].methods[1];
/// assert_eq!((div.name.as_ref(), div.timeout_ms), ("math.div", Some(2000)));
/// assert_eq!(div.docs, "Divides `a` by `b`.");
///
/// client.close().await;
/// server.shutdown().await;
/// # Ok(())
/// # }
/// ```
///
/// # What it generates
///
/// - `impl Router for Calculator`: a dispatch table in declaration order.
///   Each method decodes its arguments as one postcard tuple `(a, b)` and
///   encodes its return value as the answer. With methods marked `inline`,
///   also [`Router::runs_inline`], true for their indexes, and for those
///   written as a plain `fn`, [`Router::dispatch_now`], which answers them
///   without a future.
/// - Metadata ([`RouterInfo`]) for [`Peer::discover`], registered so that
///   [`routers()`] lists every router compiled into the program.
/// - `pub struct CalculatorClient`: `CalculatorClient::new(peer)` takes any
///   [`Peer`] ([`Client::peer`], or a server handler's [`Session::peer`]);
///   each method returns `Result<R, rpc::Error>` where `R` is the router
///   method's return type as written. A stub made from a client's peer
///   keeps the connection open as the client does, so
///   `CalculatorClient::new(Client::connect(url).await?.peer())` works.
///
/// # Methods
///
/// - `async fn`, taking `&self` (or `self: Arc<Self>`), not generic.
/// - Parameters are owned types that implement `Serialize` and
///   `Deserialize`; they travel as the tuple of all of them. One parameter
///   may be `&Session` (or `&rpc::Session`): it receives the calling
///   [`Session`] (its identity, its peer) and is not sent over the wire.
/// - Context parameters are taken from the request, not sent: a parameter
///   typed [`Headers`] (the caller's [`CallOptions::header`]s),
///   [`Identity`] (refuses an anonymous caller), [`Claims<T>`](Claims)
///   (what the authentication hook attached with [`Identity::with`]),
///   [`Extension<T>`](Extension) (per-session state, see
///   [`Session::insert_extension`]) or `Session`, or an `Option` of one
///   (absent instead of refused). Any type implementing [`FromRequest`] is
///   one when the parameter is marked `#[context]`. See the example below.
/// - Returning `Result<T, E>` (spelled `Result` with two arguments) sends `T`
///   as the answer and an `Err(e)` as an application error
///   ([`ErrorCode::APPLICATION`]) whose message is `e.to_string()`: `E` must
///   implement `Serialize`, `Deserialize` and `Display`. The stub gives it
///   back typed, as `Ok(Err(e))`.
///
/// # Options
///
/// All optional, in any order: `#[rpc::router(crate = "...", client =
/// "...", client_vis = "...")]`.
///
/// - `crate = "my_lib::rpc"`: the path generated code reaches this crate
///   by, for a dependency renamed in `Cargo.toml` or re-exported by another
///   crate (default `::rpc`). The method attributes may then be written
///   under that path too: `#[my_lib::rpc::call]`.
/// - `client = "CalculatorStub"`: the stub's name (default
///   `<Name>Client`).
/// - `client_vis = "pub(crate)"`: the visibility of the stub and its
///   methods, written as in Rust, `""` for private (default `pub`).
///
/// ```
/// # struct Calculator;
/// #[rpc::router(client = "Calc", client_vis = "pub(crate)")]
/// impl Calculator {
///     #[rpc::call]
///     async fn add(&self, a: i64, b: i64) -> i64 {
///         a + b
///     }
/// }
///
/// # async fn call(peer: &rpc::Peer) -> Result<(), rpc::Error> {
/// let sum = Calc::new(peer).add(2, 3).await?;
/// # let _ = sum;
/// # Ok(())
/// # }
/// ```
///
/// # Context parameters
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
/// use rpc::{Claims, Extension, FromRequest, HandlerError, Headers, Identity, Request};
///
/// /// What the authentication hook attached to the identity.
/// #[derive(Clone)]
/// struct Tenant(String);
///
/// /// Per-session state, stored at connect time.
/// #[derive(Clone, Default)]
/// struct Quota(Arc<AtomicU64>);
///
/// /// An extractor of the application's own.
/// struct Lang(String);
///
/// impl FromRequest for Lang {
///     fn from_request(request: &Request) -> Result<Self, HandlerError> {
///         Ok(Lang(request.header("lang").unwrap_or("en").to_owned()))
///     }
/// }
///
/// struct Greeter;
///
/// #[rpc::router]
/// impl Greeter {
///     /// Greets the caller; only `name` travels as an argument.
///     #[rpc::call]
///     async fn greet(
///         &self,
///         name: String,
///         headers: Headers,
///         who: Identity,
///         Claims(tenant): Claims<Tenant>,
///         Extension(quota): Extension<Quota>,
///         #[context] Lang(lang): Lang,
///     ) -> String {
///         let used = quota.0.fetch_add(1, Ordering::Relaxed) + 1;
///         let trace = headers.get("trace-id").unwrap_or("-");
///         format!("[{lang}] hello {name} from {who}@{}, call {used} ({trace})", tenant.0)
///     }
/// }
///
/// # async fn serve() -> Result<(), rpc::ServeError> {
/// let server = rpc::Server::builder()
///     .authenticate(|_request| Ok(Some(Identity::new("alice").with(Tenant("acme".into())))))
///     .on_connect(|session| {
///         session.insert_extension(Quota::default());
///     })
///     .mount(Greeter)
///     .bind("127.0.0.1:0")
///     .await?;
/// # let _ = server;
/// # Ok(())
/// # }
/// ```
///
/// To share the methods between a client and a server that do not compile
/// each other's code, declare them on a trait instead:
/// [`#[rpc::service]`](macro@service).
///
/// Every misuse is a compile error at the offending tokens that says what
/// to write instead. The full reference, with the cost of compiling a large
/// router, is `docs/macros.md`.
pub use rpc_macros::router;

/// Declares a service as a trait: the contract an API crate shares between
/// a client, which gets a typed stub, and a server, which implements the
/// trait, without either compiling the other's code.
///
/// The methods are declared as in a [`#[rpc::router]`](macro@router) impl
/// block, with the same attributes, options and rules, but without bodies;
/// the trait holds nothing else.
///
/// ```
/// // The API crate: the trait and the types its methods take.
/// #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, rpc::Schema)]
/// pub struct TooLow {
///     pub highest: u64,
/// }
///
/// impl std::fmt::Display for TooLow {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "the highest bid is {}", self.highest)
///     }
/// }
///
/// /// Lots and bids.
/// #[rpc::service]
/// pub trait Auction {
///     /// Bids `amount` on `lot`; returns the new highest bid.
///     #[rpc::call(timeout = "2s")]
///     async fn bid(&self, lot: u32, amount: u64) -> Result<u64, TooLow>;
///
///     /// Leaves a note for the auctioneer.
///     #[rpc::cast]
///     async fn note(&self, session: &rpc::Session, text: String);
/// }
///
/// // The server crate: an implementation, with `async fn`s.
/// #[derive(Default)]
/// struct House {
///     highest: std::sync::Mutex<u64>,
/// }
///
/// impl Auction for House {
///     async fn bid(&self, _lot: u32, amount: u64) -> Result<u64, TooLow> {
///         let mut highest = self.highest.lock().unwrap();
///         if amount <= *highest {
///             return Err(TooLow { highest: *highest });
///         }
///         *highest = amount;
///         Ok(amount)
///     }
///
///     async fn note(&self, session: &rpc::Session, text: String) {
///         println!("session {}: {text}", session.id());
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = rpc::Server::builder()
///     .mount(AuctionRouter::new(House::default()))
///     .bind("127.0.0.1:0")
///     .await?;
///
/// // The client crate: the stub, knowing nothing of `House`.
/// let client = rpc::Client::connect(&format!("ws://{}", server.local_addr().unwrap())).await?;
/// let auction = AuctionClient::new(client.peer());
/// assert_eq!(auction.bid(1, 10).await?, Ok(10));
/// assert_eq!(auction.bid(1, 5).await?, Err(TooLow { highest: 10 }));
///
/// client.close().await;
/// server.shutdown().await;
/// # Ok(())
/// # }
/// ```
///
/// # What it generates
///
/// - The trait, with every `async fn` declared as
///   `fn bid(&self, ..) -> impl Future<Output = ..> + Send` (and a returned
///   `impl Stream` as `+ Send`), and `Send + Sync + 'static` as
///   supertraits: handlers run on tasks of their own. Implementations
///   write `async fn` all the same.
/// - `AuctionRouter<S>`, a [`Router`] serving any `S: Auction`:
///   `AuctionRouter::new(service)`, or `AuctionRouter::from_arc(arc)` to
///   keep sharing the service with other code. It is `Clone`, so one
///   implementation can be mounted on several servers.
/// - `AuctionClient`, the typed stub, exactly as for a router; with the
///   trait's visibility.
/// - The metadata and its registration, equal to what an impl block with
///   the same methods gives.
///
/// A trait method without an rpc attribute, a default body, other items
/// in the trait, a generic trait: each is a compile error saying what to
/// write instead.
///
/// # Options
///
/// The options of [`#[rpc::router]`](macro@router): `crate = "..."`,
/// `client = "..."` and `client_vis = "..."`. The guide to the API-crate
/// pattern is `docs/macros.md`.
pub use rpc_macros::service;

/// Marks a router method that answers: the caller waits for its return
/// value. Only valid inside an impl block marked [`#[rpc::router]`](macro@router)
/// or a trait marked [`#[rpc::service]`](macro@service).
///
/// Options, all optional:
///
/// - `name = "math.div"`: the name on the wire (default: the method's
///   name). It must be non-empty, must not start with `rpc.` (reserved for
///   the protocol), and must be unique among the routers mounted together.
/// - `timeout = "2s"`: a deadline the serving side enforces; units `ms`,
///   `s`, `m`, `h`. A handler still running then is stopped and the caller
///   gets an error for which `is_timeout()` is true.
/// - `idempotent`: the method is safe to ask again; a reconnecting caller
///   resends a call lost in flight, and the server runs it at most once.
/// - `inline`: the handler's first poll runs on the connection's reader,
///   right where the request is read, so an answer ready at once is written
///   without a hand-off to the handler pool, and the answers to a burst of
///   such calls share one write; a handler still pending after that poll
///   moves on to the pool. Use it for handlers that compute briefly and
///   never block before their first `.await`: arithmetic, a lookup in
///   memory. The cost: while it runs, the connection reads nothing else (not
///   even a ping), so a slow first poll holds up every message behind it.
///   An inline method may be a plain `fn` (without `inline`, a call must be
///   an `async fn`): it is then called straight from the reader, without a
///   future to allocate and poll, the cheapest way to answer.
///
/// ```
/// # use std::collections::HashMap;
/// # struct Store { entries: HashMap<String, String> }
/// #[rpc::router]
/// impl Store {
///     /// Looks a key up.
///     #[rpc::call(name = "store.get", timeout = "500ms")]
///     async fn get(&self, key: String) -> Option<String> {
///         let _ = key;
///         None
///     }
///
///     /// How many entries there are: answered on the reader.
///     #[rpc::call(inline)]
///     async fn len(&self) -> usize {
///         self.entries.len()
///     }
///
///     /// Whether a key is there: a plain `fn`, answered on the reader
///     /// without a future.
///     #[rpc::call(inline)]
///     fn has(&self, key: String) -> bool {
///         self.entries.contains_key(&key)
///     }
/// }
/// ```
pub use rpc_macros::call;

/// Marks a router method that never answers: the caller's stub returns as
/// soon as the message is queued. Only valid inside an impl block marked
/// [`#[rpc::router]`](macro@router) or a trait marked
/// [`#[rpc::service]`](macro@service). A cast returns nothing.
///
/// Options, all optional, as for [`#[rpc::call]`](macro@call):
///
/// - `name = "..."` and `timeout = "..."`.
/// - `inline`: the handler's first poll runs on the connection's reader,
///   right where the cast is read, with no hand-off to the handler pool (a
///   handler still pending after that poll moves on to the pool). Use it for
///   handlers that compute briefly and never block before their first
///   `.await`: bumping a counter, an update in memory. The cost: while it
///   runs, the connection reads nothing else (not even a ping).
///
/// `idempotent` is for calls only: a cast has no answer to wait for again.
///
/// ```
/// # use std::sync::atomic::{AtomicU64, Ordering};
/// # struct Chat { typed: AtomicU64 }
/// #[rpc::router]
/// impl Chat {
///     /// Tells the room that someone is typing.
///     #[rpc::cast]
///     async fn typing(&self, session: &rpc::Session, room: String) {
///         let _ = (session.id(), room);
///     }
///
///     /// Counts a keystroke: run on the reader.
///     #[rpc::cast(inline)]
///     async fn keystroke(&self) {
///         self.typed.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// ```
pub use rpc_macros::cast;

/// Marks a router method that streams: it returns a stream of items (server
/// streaming), takes the caller's uploads as an [`Incoming<U>`](Incoming)
/// parameter (client streaming), or both (bidirectional). Only valid inside
/// an impl block marked [`#[rpc::router]`](macro@router) or a trait marked
/// [`#[rpc::service]`](macro@service); it takes the `name` and `timeout`
/// options of [`#[rpc::call]`](macro@call), where `timeout` is a deadline on
/// the whole exchange. It takes neither `idempotent` (a stream is not
/// retried) nor `inline` (a stream's handler keeps running while it sends,
/// so it always starts on the handler pool).
///
/// - Return `impl Stream<Item = T>` (from an `async fn` or a plain `fn`), or
///   `Result<impl Stream<Item = T>, E>` to refuse the stream before any
///   item. Items of type `Result<T, E>` are sent as `T` until the first
///   `Err(e)`, which ends the stream with an application error.
/// - Take at most one `Incoming<U>` by value; without a returned stream
///   the method answers once, like a call.
///
/// The stub's method returns an [`Incoming<T>`](Incoming) (or a
/// [`BidiStream<T>`](BidiStream)) and takes `impl Stream<Item = U> + Send +
/// 'static` for the uploads; its `<name>_with` twin takes
/// [`StreamOptions`] as well.
///
/// ```
/// use futures_util::{Stream, StreamExt, stream};
/// use rpc::Incoming;
///
/// struct Numbers;
///
/// #[rpc::router]
/// impl Numbers {
///     /// Counts from zero to `n - 1`.
///     #[rpc::stream]
///     fn count(&self, n: u64) -> impl Stream<Item = u64> {
///         stream::iter(0..n)
///     }
///
///     /// Adds up what the caller uploads.
///     #[rpc::stream]
///     async fn sum(&self, numbers: Incoming<u64>) -> u64 {
///         numbers.filter_map(|n| async move { n.ok() }).fold(0, |a, n| async move { a + n }).await
///     }
///
///     /// Doubles every upload as it arrives.
///     #[rpc::stream(name = "double", timeout = "1m")]
///     fn doubled(&self, numbers: Incoming<u64>) -> impl Stream<Item = u64> {
///         numbers.filter_map(|n| async move { n.ok().map(|n| n * 2) })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = rpc::Server::builder().mount(Numbers).bind("127.0.0.1:0").await?;
/// let client = rpc::Client::connect(&format!("ws://{}", server.local_addr().unwrap())).await?;
/// let numbers = NumbersClient::new(client.peer());
///
/// let counted: Vec<u64> = numbers.count(3).await?.map(Result::unwrap).collect().await;
/// assert_eq!(counted, [0, 1, 2]);
/// assert_eq!(numbers.sum(stream::iter(1..=4)).await?, 10);
/// let doubled = numbers.doubled(stream::iter([1, 2])).await?;
/// assert_eq!(doubled.map(Result::unwrap).collect::<Vec<_>>().await, [2, 4]);
///
/// client.close().await;
/// server.shutdown().await;
/// # Ok(())
/// # }
/// ```
///
/// The reference is `docs/macros.md`.
pub use rpc_macros::stream;

/// Derives [`Schema`](trait@Schema): the wire shape of a struct or an
/// enum, for `discover()` and the peers that build and read values without
/// its Rust definition.
///
/// It reads the same `#[serde(..)]` attributes serde does, so the schema
/// says exactly what serde and postcard put on the wire: names after
/// `rename` and `rename_all`, skipped fields and variants left out (the
/// others keep their indexes), `transparent` types as their field. Doc
/// comments of the type, its fields and variants become the schema's docs.
/// A type parameter gets a `T: Schema` bound, as serde adds
/// `T: Serialize`.
///
/// ```
/// use rpc::schema::{Shape, Type, Types, VariantShape};
/// use serde::{Deserialize, Serialize};
///
/// /// A shape to draw.
/// #[derive(Serialize, Deserialize, rpc::Schema)]
/// #[serde(rename_all = "snake_case")]
/// enum Figure {
///     /// A circle of radius `r`.
///     Circle { r: f64 },
///     Polygon(Vec<Point>),
/// }
///
/// #[derive(Serialize, Deserialize, rpc::Schema)]
/// struct Point {
///     x: i32,
///     y: i32,
///     /// Written as a length and the bytes, not as a sequence of `u8`s.
///     #[serde(serialize_with = "as_bytes")]
///     #[schema(as = rpc::schema::RawBytes)]
///     tag: Vec<u8>,
/// }
///
/// fn as_bytes<S: serde::Serializer>(tag: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
///     serializer.serialize_bytes(tag)
/// }
///
/// let mut types = Types::new();
/// assert_eq!(types.describe::<Figure>(), Type::Named("Figure".to_owned()));
/// let schema = rpc::schema::RouterSchema::new(types, Vec::new());
/// let figure = schema.definition("Figure").unwrap();
/// assert_eq!(figure.docs, "A shape to draw.");
/// let Shape::Enum(variants) = &figure.shape else { unreachable!() };
/// assert_eq!(variants[1].name, "polygon");
/// assert_eq!(
///     variants[1].shape,
///     VariantShape::Newtype(Type::Seq(Box::new(Type::Named("Point".to_owned())))),
/// );
/// ```
///
/// What serde attributes would make the schema lie is a compile error
/// that says what to write instead: `tag`, `content` and `untagged`
/// (postcard needs externally tagged enums), `flatten`,
/// `skip_serializing_if`, a field skipped one way only, a skipped variant
/// before one that is not, and `with`, `serialize_with`,
/// `deserialize_with`, `from`, `into` or `try_from` without
/// `#[schema(as = Type)]`, which names a type that serializes the same way.
/// `#[schema(crate = "...")]` names the `rpc` crate when it is renamed.
/// The reference is `docs/macros.md`.
pub use rpc_macros::Schema;

// docs/deployment.md, so that its examples compile (and those that need
// no port run) under `cargo test --doc`; the item exists in no other build.
#[cfg(doctest)]
#[doc = include_str!("../docs/deployment.md")]
pub struct DeploymentDocs;

// docs/client.md, so that its examples compile.
#[cfg(doctest)]
#[doc = include_str!("../docs/client.md")]
pub struct ClientDocs;

// docs/testing.md: its examples that need no port run.
#[cfg(doctest)]
#[doc = include_str!("../docs/testing.md")]
pub struct TestingDocs;

// docs/recording.md, so that its replay example runs.
#[cfg(doctest)]
#[doc = include_str!("../docs/recording.md")]
pub struct RecordingDocs;

/// The names most programs need, in one import: `use rpc::prelude::*;`
/// brings the client and server, what a handler takes and returns, the
/// stream types, and [`StreamExt`](prelude::StreamExt) to read a stream
/// (`while let Some(item) = incoming.next().await`).
///
/// ```
/// use rpc::prelude::*;
///
/// async fn total(mut numbers: Incoming<u64>) -> Result<u64, StreamError> {
///     let mut sum = 0;
///     while let Some(n) = numbers.next().await {
///         sum += n?;
///     }
///     Ok(sum)
/// }
/// ```
pub mod prelude {
    pub use rpc_core::stub::{Stream, StreamExt};
    pub use rpc_core::{
        CallOptions, Claims, Client, Error, Extension, FromRequest, HandlerError, Headers,
        Identity, Incoming, Peer, Reply, Request, Router, Server, Session, StreamError,
        StreamOptions,
    };
}

/// What macro-generated code names. Not public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
    pub use rpc_core;
    pub use serde;
    pub use std::{
        boxed::Box,
        clone::Clone,
        default::Default,
        fmt::{self, Debug},
        future::Future,
        marker::{Send, Sync},
        option::Option::{self, None, Some},
        result::Result::{self, Err, Ok},
        string::ToString,
        sync::{Arc, OnceLock},
    };
}
