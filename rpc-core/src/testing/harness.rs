//! [`RouterHarness`]: a router's handlers called directly, as a unit test
//! calls a function, with no connection and no peer.

use std::{
    fmt,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    codec,
    config::{ServerConfig, SessionConfig},
    identity::Identity,
    metadata::MethodKind,
    protocol::{ErrorCode, Features, Limits},
    push::Registry,
    router::{HandlerError, Request, Router, Routes},
    session::{self, Hooks, Role, Session, Setup},
    transport::memory,
};

/// Sets one piece of session state before the first call.
type Prepare = Box<dyn Fn(&Session) + Send + Sync>;

/// Runs a router's handlers directly: the test names a method and gives
/// its arguments, the harness runs the router's dispatch (the code
/// `#[rpc::router]` generates: context extraction, argument decoding, the
/// method, answer encoding) and returns the decoded answer or the
/// handler's error.
///
/// The handlers see a session of their own, made on the first call and
/// kept for the harness's life: the identity, headers and session state
/// ([`Extension`](crate::Extension)s) the test sets here are what
/// `Identity`, `Headers`, `Claims` and `Extension` parameters receive, and
/// state a call stores is there for the next.
///
/// That session is detached: it belongs to a server-side registry of its
/// own, but no peer and no connection are behind it. Calls the handler
/// makes back to the peer through [`Session::peer`] are never answered
/// (they wait for their timeout), and pushes go nowhere. A handler that
/// talks to its peer, and stream methods, which need one, are tested over
/// [`pair`](super::pair) instead, at the cost of a client stub and the
/// whole protocol in between. In exchange the harness needs no client,
/// runs the handler in the test's own task (a panic fails the test where
/// it happened), and keeps the method's deadline
/// (`#[rpc::call(timeout = ..)]`), which a paused clock lets pass at once.
///
/// ```
/// # extern crate rpc_core as rpc;
/// # use std::sync::Arc;
/// # use rpc::{HandlerFuture, Identity, MethodInfo, MethodKind, Request, Router, RouterInfo};
/// # struct Greeter;
/// # static METHODS: [MethodInfo; 1] =
/// #     [MethodInfo::new("greet", MethodKind::Call, &[], "String", "", None)];
/// # static GREETER: RouterInfo = RouterInfo::new("Greeter", "", &METHODS);
/// # impl Router for Greeter {
/// #     fn info(&self) -> &'static RouterInfo { &GREETER }
/// #     fn dispatch(self: Arc<Self>, _: usize, request: Request) -> HandlerFuture {
/// #         Box::pin(async move {
/// #             let (greeting,): (String,) = request.args()?;
/// #             let who = request.session().identity().map_or("stranger", |id| id.subject());
/// #             request.reply(&format!("{greeting}, {who}"))
/// #         })
/// #     }
/// # }
/// use rpc::testing::RouterHarness;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // `Greeter` is any router: a `#[rpc::router]` type, or one written by hand.
/// let harness = RouterHarness::new(Greeter).identity(Identity::new("alice"));
/// let greeting: String = harness.call("greet", &("hello",)).await.unwrap();
/// assert_eq!(greeting, "hello, alice");
///
/// let missing = harness.call::<_, String>("farewell", &()).await.unwrap_err();
/// assert_eq!(missing.code(), rpc::ErrorCode::UNKNOWN_METHOD);
/// # }
/// ```
#[must_use]
pub struct RouterHarness {
    router: Arc<dyn Router>,
    headers: Vec<(String, String)>,
    identity: Option<Identity>,
    prepare: Vec<Prepare>,
    session: OnceLock<Session>,
    /// Serials of the requests, as the session's admission numbers them.
    serial: AtomicU64,
}

impl fmt::Debug for RouterHarness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterHarness")
            .field("router", &self.router.info().name)
            .field("headers", &self.headers)
            .field("identity", &self.identity)
            .field("session", &self.session.get())
            .finish_non_exhaustive()
    }
}

impl RouterHarness {
    /// A harness running `router`'s handlers, for an anonymous caller with
    /// no headers and no session state.
    pub fn new<R: Router>(router: R) -> Self {
        Self {
            router: Arc::new(router),
            headers: Vec::new(),
            identity: None,
            prepare: Vec::new(),
            session: OnceLock::new(),
            serial: AtomicU64::new(1),
        }
    }

    /// Adds a header to every request, as
    /// [`CallOptions::header`](crate::CallOptions::header) does to a call.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The caller's identity, as an authentication hook would have
    /// attached it; none by default.
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self.session = OnceLock::new();
        self
    }

    /// Stores `value` in the session before the first call, as an
    /// [`on_connect`](crate::ServerBuilder::on_connect) hook would.
    pub fn extension<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.prepare.push(Box::new(move |session| {
            session.insert_extension(value.clone());
        }));
        self.session = OnceLock::new();
        self
    }

    /// The session the handlers see: its state and tags after a call.
    pub fn session(&self) -> &Session {
        self.session.get_or_init(|| self.start())
    }

    /// Calls `method` (its wire name) with `args`, by convention a tuple of
    /// its parameters (`&(a, b)`, `&(a,)`, `&()`), and decodes the answer
    /// as an `R`. A method returning `Result<T, E>` answers `T`; its `E`
    /// is the error's data ([`codec::decode_value`] of
    /// [`HandlerError::data`]).
    ///
    /// # Errors
    ///
    /// The handler's error, as the caller would receive it: its own, a
    /// refused extraction or undecodable arguments, the method's deadline
    /// (`timeout`), and `unknown method` for a name the router does not
    /// serve.
    ///
    /// # Panics
    ///
    /// When the handler panics, when `method` is a stream, or when the
    /// answer is not an `R`.
    pub async fn call<A, R>(&self, method: &str, args: &A) -> Result<R, HandlerError>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let answer = self.run(method, true, args).await?;
        let Some(answer) = answer else {
            panic!("router harness: `{method}` gave no answer to a call");
        };
        let decoded = codec::decode(&answer, usize::MAX)
            .unwrap_or_else(|err| panic!("router harness: the answer does not decode: {err}"));
        let value = codec::decode_value(&decoded.payload).unwrap_or_else(|err| {
            panic!(
                "router harness: the answer of `{method}` is not a {}: {err}",
                std::any::type_name::<R>()
            )
        });
        Ok(value)
    }

    /// Casts `method` with `args`, as [`call`](Self::call) does, and waits
    /// for its handler to finish.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call); a real caller of a cast never sees them.
    ///
    /// # Panics
    ///
    /// When the handler panics, or when `method` is a stream.
    pub async fn cast<A: Serialize + ?Sized>(
        &self,
        method: &str,
        args: &A,
    ) -> Result<(), HandlerError> {
        self.run(method, false, args).await.map(drop)
    }

    /// Runs the dispatch of `method` for a call (which has an id) or a
    /// cast; the encoded answer frame, if any.
    async fn run<A: Serialize + ?Sized>(
        &self,
        method: &str,
        call: bool,
        args: &A,
    ) -> Result<Option<Bytes>, HandlerError> {
        let methods = &self.router.info().methods;
        let Some((index, info)) = methods.iter().enumerate().find(|(_, m)| m.name == method) else {
            return Err(HandlerError::new(
                ErrorCode::UNKNOWN_METHOD,
                format!("no method named `{method}`"),
            ));
        };
        assert!(
            info.kind != MethodKind::Stream,
            "router harness: `{method}` is a stream, which needs a connection: test it over rpc::testing::pair"
        );
        let payload = Bytes::from(postcard::to_allocvec(args).unwrap_or_else(|err| {
            panic!("router harness: the arguments of `{method}` do not encode: {err}")
        }));
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let request = Request::new(
            self.session().clone(),
            call.then_some(serial),
            serial,
            payload,
            self.headers.clone(),
            false,
        );
        let handler = Arc::clone(&self.router).dispatch(index, request);
        let reply = match info.timeout_ms.map(Duration::from_millis) {
            None => handler.await?,
            Some(limit) => tokio::time::timeout(limit, handler).await.map_err(|_| {
                HandlerError::new(
                    ErrorCode::TIMEOUT,
                    format!("handler exceeded its deadline of {limit:?}"),
                )
            })??,
        };
        Ok(reply.0)
    }

    /// The detached session: started over one end of an in-memory
    /// connection whose driver never runs, so nothing is read or written.
    fn start(&self) -> Session {
        let config = SessionConfig::default();
        let (end, _other) = memory::pair(1, (config.max_message_size, config.max_message_size));
        let never = CancellationToken::new();
        let peer_limits = Limits {
            max_message_size: u32::MAX,
            max_in_flight: u32::MAX,
            max_reassembly: u32::MAX,
            max_partials: 16,
        };
        let setup = Setup {
            id: 1,
            role: Role::Server,
            remote_addr: None,
            identity: self.identity.clone(),
            config,
            routes: Arc::new(Routes::default()),
            described: crate::metadata::DiscoverAnswer::default(),
            tracker: TaskTracker::new(),
            registry: Some(Registry::new(ServerConfig::default().registry_events)),
            dead_letters: None,
            peer_limits,
            features: Features::default(),
            shutdown: never,
            shutdown_grace: None,
            hooks: Hooks::default(),
        };
        // The driver is dropped unpolled: the session's reader, writer and
        // heartbeat never start, and its transport is gone with it.
        let (session, _drive) = session::start(Box::new(end), setup);
        for prepare in &self.prepare {
            prepare(&session);
        }
        session
    }
}
