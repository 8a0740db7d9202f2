//! Shared helpers for the end-to-end tests: a router built from closures,
//! servers and clients on 127.0.0.1:0, and a raw WebSocket client that
//! speaks the wire protocol by hand to send what a well-behaved peer never
//! would.

#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    reason = "each test binary uses a different subset"
)]

pub mod certs;
pub mod logs;
pub mod proxy;
pub mod raw;
pub mod redis;

use std::{future::Future, sync::Arc, time::Duration};

use rpc::{
    Client, ClientConfig, HandlerError, HandlerFuture, MethodInfo, MethodKind, Request, Router,
    RouterInfo, Server, ServerConfig, SessionConfig, testing,
};

type Handler = Box<dyn Fn(Request) -> HandlerFuture + Send + Sync>;

/// A router whose methods are closures; metadata is leaked, which is fine
/// for tests.
pub struct FnRouter {
    name: &'static str,
    methods: Vec<MethodInfo>,
    handlers: Vec<Handler>,
    /// Indexes of the methods that start on the reader.
    inline: Vec<usize>,
    info: Option<&'static RouterInfo>,
}

impl FnRouter {
    pub fn new(name: &str) -> Self {
        Self {
            name: leak(name),
            methods: Vec::new(),
            handlers: Vec::new(),
            inline: Vec::new(),
            info: None,
        }
    }

    /// Adds a call whose handler gets the request and returns the answer.
    pub fn call<F, Fut>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<rpc::Reply, HandlerError>> + Send + 'static,
    {
        self.method(name, MethodKind::Call, handler)
    }

    /// Adds a cast.
    pub fn cast<F, Fut>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<rpc::Reply, HandlerError>> + Send + 'static,
    {
        self.method(name, MethodKind::Cast, handler)
    }

    /// Adds a stream.
    pub fn stream<F, Fut>(self, name: &str, handler: F) -> Self
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<rpc::Reply, HandlerError>> + Send + 'static,
    {
        self.method(name, MethodKind::Stream, handler)
    }

    /// Adds a `join` call that hands the caller's session to the test,
    /// which can then reach the client from outside any handler.
    pub fn join_hands_out_sessions(
        self,
    ) -> (Self, tokio::sync::mpsc::UnboundedReceiver<rpc::Session>) {
        let (tx, sessions) = tokio::sync::mpsc::unbounded_channel();
        let router = self.call("join", move |req| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(req.session().clone());
                req.reply(&())
            }
        });
        (router, sessions)
    }

    fn method<F, Fut>(mut self, name: &str, kind: MethodKind, handler: F) -> Self
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<rpc::Reply, HandlerError>> + Send + 'static,
    {
        self.methods
            .push(MethodInfo::new(leak(name), kind, &[], "?", "", None));
        self.handlers
            .push(Box::new(move |request| Box::pin(handler(request))));
        self
    }

    /// Marks the method added last inline ([`Router::runs_inline`]).
    pub fn inline(mut self) -> Self {
        self.inline.push(self.handlers.len() - 1);
        self
    }

    /// Marks every method added so far inline.
    pub fn all_inline(mut self) -> Self {
        self.inline = (0..self.handlers.len()).collect();
        self
    }

    /// Freezes the metadata; needed before mounting.
    pub fn finished(mut self) -> Self {
        let methods: &'static [MethodInfo] =
            Box::leak(std::mem::take(&mut self.methods).into_boxed_slice());
        self.info = Some(Box::leak(Box::new(RouterInfo::new(self.name, "", methods))));
        self
    }
}

impl Router for FnRouter {
    fn info(&self) -> &'static RouterInfo {
        self.info.expect("FnRouter is finished before mounting")
    }

    fn dispatch(self: Arc<Self>, method: usize, request: Request) -> HandlerFuture {
        (self.handlers[method])(request)
    }

    fn runs_inline(&self, method: usize) -> bool {
        self.inline.contains(&method)
    }
}

fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

/// Settings small enough that limit tests run in milliseconds.
pub fn session_config() -> SessionConfig {
    SessionConfig::default().close_timeout(Duration::from_secs(1))
}

pub fn server_config() -> ServerConfig {
    ServerConfig::default()
        .session(session_config())
        .shutdown_grace(Duration::from_secs(5))
}

/// Starts a server on 127.0.0.1:0 with `router`.
pub async fn serve(router: FnRouter) -> Server {
    serve_with(router, server_config()).await
}

pub async fn serve_with(router: FnRouter, config: ServerConfig) -> Server {
    Server::builder()
        .config(config)
        .mount(router.finished())
        .bind("127.0.0.1:0")
        .await
        .expect("server binds 127.0.0.1:0")
}

/// `router` served to a client over the in-memory pair: no socket, so a
/// test may pause the clock.
pub async fn pair(router: FnRouter, server: ServerConfig, client: SessionConfig) -> testing::Pair {
    testing::pair(
        Server::builder().config(server).mount(router.finished()),
        Client::builder().config(ClientConfig::default().session(client)),
    )
    .await
    .expect("the pair connects")
}

/// An authentication hook for tests: the `authorization` header, when
/// there is one, is the caller's subject.
#[allow(
    clippy::unnecessary_wraps,
    reason = "the shape `Server::authenticate` takes"
)]
pub fn subject_from_header(
    request: &rpc::UpgradeRequest,
) -> Result<Option<rpc::Identity>, rpc::Refusal> {
    Ok(request
        .header("authorization")
        .map(|who| rpc::Identity::new(who.to_owned())))
}

pub fn url(server: &Server) -> String {
    format!("ws://{}", server.local_addr().unwrap())
}

pub async fn connect(server: &Server) -> Client {
    Client::builder()
        .config(ClientConfig::default().session(session_config()))
        .connect(&url(server))
        .await
        .expect("client connects")
}

/// A client that serves `router` to the server.
pub async fn connect_with(server: &Server, router: FnRouter) -> Client {
    Client::builder()
        .config(ClientConfig::default().session(session_config()))
        .mount(router.finished())
        .connect(&url(server))
        .await
        .expect("client connects")
}

/// Bounds every test so a hang fails instead of stalling CI.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 10 s"))
}

/// A well-behaved client, connected before a test abuses the server, that
/// shows afterwards that the abuse disturbed no one else.
pub struct Bystander {
    client: Client,
}

impl Bystander {
    pub async fn join(server: &Server) -> Self {
        Self {
            client: within("bystander connects", connect(server)).await,
        }
    }

    /// Asserts that this client is still answered and that a newcomer is
    /// admitted and answered too.
    pub async fn assert_served(&self, server: &Server) {
        within("the bystander is answered", self.client.peer().discover())
            .await
            .expect("the bystander's discover is answered");
        assert_still_serving(server).await;
    }
}

/// Asserts that `server` admits a new client and answers it.
pub async fn assert_still_serving(server: &Server) {
    let client = within("a newcomer connects", connect(server)).await;
    within("the newcomer is answered", client.peer().discover())
        .await
        .expect("the newcomer's discover is answered");
    client.close().await;
}

/// Waits until `server` holds `count` connections, counting those still
/// upgrading.
pub async fn connections_become(server: &Server, count: usize) {
    within("the connection count", async {
        while server.connections() != count {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// A router with `block`, which reports that it started and then waits for a
/// permit from `release` (signalling `dropped` if its future is dropped), and
/// `add`.
pub fn blocking(
    started: tokio::sync::mpsc::UnboundedSender<()>,
    release: Arc<tokio::sync::Semaphore>,
    dropped: Option<tokio::sync::oneshot::Sender<()>>,
) -> FnRouter {
    let dropped = std::sync::Mutex::new(dropped);
    FnRouter::new("Blocking")
        .call("block", move |req| {
            let started = started.clone();
            let release = Arc::clone(&release);
            let guard = DropSignal(dropped.lock().unwrap().take());
            async move {
                let _guard = guard;
                started.send(()).unwrap();
                release.acquire().await.unwrap().forget();
                req.reply(&"released")
            }
        })
        .call("add", |req| async move {
            let (a, b): (i64, i64) = req.args()?;
            req.reply(&(a + b))
        })
}

/// Which timer gives up on the call in
/// [`assert_an_abandoned_block_is_dropped`].
#[derive(Clone, Copy)]
pub enum CallTimer {
    /// The call's own timeout (`CallOptions::timeout`): a timer of its own.
    Own,
    /// The session's default timeout (`SessionConfig::call_timeout`),
    /// which the session's one timer watches.
    Session,
}

/// Calls `block` on `router` (see [`blocking`]) over the in-memory pair
/// (the test runs on a paused clock) with a call timeout of 5 s, kept by
/// `timer`: the call fails with `Timeout` exactly then, the cancel frame
/// reaches the server, which drops the handler, and the session goes on
/// answering `add`.
pub async fn assert_an_abandoned_block_is_dropped(
    router: FnRouter,
    mut started: tokio::sync::mpsc::UnboundedReceiver<()>,
    dropped: tokio::sync::oneshot::Receiver<()>,
    timer: CallTimer,
) {
    let timeout = Duration::from_secs(5);
    let (client, options) = match timer {
        CallTimer::Own => (
            session_config(),
            rpc::CallOptions::default().timeout(timeout),
        ),
        CallTimer::Session => (
            session_config().call_timeout(timeout),
            rpc::CallOptions::default(),
        ),
    };
    let pair = pair(router, server_config(), client).await;
    let begun = tokio::time::Instant::now();
    let err = pair
        .client
        .peer()
        .call_with::<_, String>("block", &(), options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, rpc::Error::Timeout(d) if d == timeout),
        "{err:?}"
    );
    assert_eq!(begun.elapsed(), timeout);
    started.recv().await.unwrap();
    within("the handler's drop", dropped).await.unwrap();
    let sum: i64 = pair.client.peer().call("add", &(1, 1)).await.unwrap();
    assert_eq!(sum, 2);
}

/// Calls `block` on `router`, served with a handler deadline of 5 s over
/// the in-memory pair (the test runs on a paused clock): the call fails
/// with `timeout` exactly at the deadline, and the handler, which signals
/// `dropped` when its future is dropped, is dropped.
pub async fn assert_block_meets_its_deadline(
    router: FnRouter,
    dropped: tokio::sync::oneshot::Receiver<()>,
) {
    let config =
        server_config().session(session_config().handler_timeout(Some(Duration::from_secs(5))));
    let pair = pair(router, config, session_config()).await;
    let begun = tokio::time::Instant::now();
    let err = pair
        .client
        .peer()
        .call::<_, String>("block", &())
        .await
        .unwrap_err();
    assert_eq!(err.remote_code(), Some(rpc::ErrorCode::TIMEOUT), "{err:?}");
    assert!(err.is_timeout());
    assert_eq!(begun.elapsed(), Duration::from_secs(5));
    within("the handler's drop", dropped).await.unwrap();
}

/// Signals when dropped: shows that a handler's future was dropped (its task
/// aborted) rather than left running.
pub struct DropSignal(pub Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// A client router named `name` whose cast `topic` sends its one argument
/// to `tx`: what a test reads pushes with.
pub fn forwarder<T>(name: &str, topic: &str, tx: tokio::sync::mpsc::UnboundedSender<T>) -> FnRouter
where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    FnRouter::new(name).cast(topic, move |req| {
        let tx = tx.clone();
        async move {
            let (value,): (T,) = req.args()?;
            let _ = tx.send(value);
            req.reply(&())
        }
    })
}

/// `join(room)` and `leave(room)` for the caller's session: rooms are
/// values of the tag `room`.
pub fn rooms() -> FnRouter {
    FnRouter::new("Rooms")
        .call("join", |req| async move {
            let (room,): (String,) = req.args()?;
            req.reply(&req.session().join("room", room)?)
        })
        .call("leave", |req| async move {
            let (room,): (String,) = req.args()?;
            req.reply(&req.session().leave("room", &room))
        })
}
