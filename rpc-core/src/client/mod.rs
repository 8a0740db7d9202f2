//! The client: connects to a server, performs the handshake and runs a
//! session on which it calls the server and, with routers mounted, serves
//! the server's calls.

mod breaker;
mod connector;
mod latency;
mod pool;
mod reconnect;

use std::{fmt, future::Future, sync::Arc};

use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

pub(crate) use self::connector::Connector;
use self::connector::{Credentials, Parts};
pub use self::pool::Pool;
pub use self::reconnect::{
    ConnectionEvent, ConnectionEvents, ConnectionState, Delivery, ReconnectPolicy,
    ReconnectingBuilder, ReconnectingClient, Subscription, WhileDisconnected,
};
use crate::{
    config::{ClientConfig, SessionConfig},
    error::{CloseReason, ConnectError, MountError},
    protocol::{Features, Limits, Welcome, close_code},
    router::{Router, Routes},
    session::{self, Hold, Hooks, Peer, Role, Session, Setup},
    transport::BoxTransport,
};

pub use breaker::{BreakerConfig, BreakerPermit, BreakerState, Breakers, CircuitBreaker};
pub use latency::{LatencySnapshot, LatencyStats};

/// Builds a [`Client`]: configuration, routers the server may call, upgrade
/// headers (credentials for the server's authentication hook).
#[must_use = "a builder does nothing until `connect` is awaited"]
pub struct ClientBuilder {
    config: ClientConfig,
    routes: Routes,
    mount_error: Option<MountError>,
    headers: Vec<(String, String)>,
    credentials: Option<Credentials>,
    hooks: Hooks,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::ClientTls>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("routes", &self.routes)
            .field("headers", &self.headers)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Replaces the configuration (default: [`ClientConfig::default`]).
    pub fn config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// Serves `router`'s methods to the server over this connection.
    pub fn mount<R: Router>(mut self, router: R) -> Self {
        if self.mount_error.is_none()
            && let Err(err) = self.routes.mount(Arc::new(router))
        {
            self.mount_error = Some(err);
        }
        self
    }

    /// Wraps every handler of the routers this client mounts (the calls
    /// the server makes to it) in `layer` (see
    /// [`middleware`](crate::middleware)); layers added first run
    /// outermost.
    pub fn layer<M: crate::middleware::Middleware>(mut self, layer: M) -> Self {
        self.routes.layers.push(Arc::new(layer));
        self
    }

    /// Runs `hook` on the client's session once it exists, before it reads
    /// its first frame: the place to store per-session state
    /// ([`Session::insert_extension`]) that the routers this client mounts
    /// read while serving the server's calls.
    pub fn on_connect<F>(mut self, hook: F) -> Self
    where
        F: Fn(&Session) + Send + Sync + 'static,
    {
        self.hooks.on_connect = Some(Arc::new(hook));
        self
    }

    /// Runs `hook` once the client's session has ended, with its close
    /// reason (the server closed it, the connection dropped, or
    /// [`Client::close`]): the place to note the disconnection or to start
    /// reconnecting.
    pub fn on_disconnect<F>(mut self, hook: F) -> Self
    where
        F: Fn(&Session, &CloseReason) + Send + Sync + 'static,
    {
        self.hooks.on_disconnect = Some(Arc::new(hook));
        self
    }

    /// Adds a header to the upgrade request, such as `Authorization`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Calls `credentials` before every connection attempt (the first and
    /// each of a [`ReconnectingClient`](crate::ReconnectingClient)'s
    /// reconnects) for headers to add to the upgrade request, such as an
    /// `Authorization` with a token refreshed as needed.
    ///
    /// ```no_run
    /// # extern crate rpc_core as rpc;
    /// # async fn fresh_token() -> String { String::new() }
    /// # async fn run() -> Result<(), rpc::ConnectError> {
    /// let client = rpc::Client::builder()
    ///     .credentials(|| async { vec![("authorization".into(), format!("Bearer {}", fresh_token().await))] })
    ///     .reconnect()
    ///     .start("ws://127.0.0.1:9000/")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn credentials<F, Fut>(mut self, credentials: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<(String, String)>> + Send + 'static,
    {
        self.credentials = Some(Arc::new(move || Box::pin(credentials())));
        self
    }

    /// Trusts `tls`'s authorities for `wss://` URLs (the `tls` feature;
    /// default: [`ClientTls::webpki_roots`](crate::ClientTls::webpki_roots)).
    ///
    /// ```no_run
    /// # extern crate rpc_core as rpc;
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use rpc::{Client, ClientTls};
    ///
    /// let tls = ClientTls::native_roots()?;
    /// let client = Client::builder().tls(tls).connect("wss://rpc.example.com/").await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::ClientTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Connects to `url` (`ws://host:port/path`, or `wss://` with the `tls`
    /// feature), upgrades, and performs the protocol handshake, all within
    /// the connect timeout.
    ///
    /// # Errors
    ///
    /// See [`ConnectError`]: a refused upgrade carries its HTTP status, a
    /// failed TLS handshake says why (`ConnectError::Tls`).
    pub async fn connect(self, url: &str) -> Result<Client, ConnectError> {
        self.open(url, None::<TcpStream>).await
    }

    /// Upgrades `io`, a connection the caller opened (a Unix socket, a TLS
    /// stream, a TCP stream with its own options), and performs the
    /// protocol handshake, within the connect timeout. `url` gives the
    /// upgrade request's host and path; with `wss`, a TLS handshake with
    /// that host runs over `io` first.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect), but for the TCP connect.
    pub async fn connect_with<S>(self, io: S, url: &str) -> Result<Client, ConnectError>
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        self.open(url, Some(io)).await
    }

    /// Checks the routers, configuration and URL, for one connection or
    /// many.
    pub(crate) fn connector(self, url: &str) -> Result<Connector, ConnectError> {
        if let Some(err) = self.mount_error {
            return Err(ConnectError::Mount(err));
        }
        Connector::new(
            Parts {
                routes: self.routes,
                config: self.config,
                hooks: self.hooks,
                headers: self.headers,
                credentials: self.credentials,
                #[cfg(feature = "tls")]
                tls: self.tls,
            },
            url,
        )
    }

    /// Upgrades `io`, or a TCP connection to `url`'s host when there is none.
    async fn open<S>(self, url: &str, io: Option<S>) -> Result<Client, ConnectError>
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        self.connector(url)?.connect(io).await
    }

    /// The routes and configuration, checked, for a connection made
    /// elsewhere (the in-memory pair).
    pub(crate) fn into_parts(self) -> Result<(Routes, ClientConfig, Hooks), ConnectError> {
        if let Some(err) = self.mount_error {
            return Err(ConnectError::Mount(err));
        }
        self.config.validate().map_err(ConnectError::Config)?;
        Ok((self.routes, self.config, self.hooks))
    }
}

/// Starts the client's session on a transport whose handshake is done.
pub(crate) fn start(
    routes: Arc<Routes>,
    config: SessionConfig,
    transport: BoxTransport,
    welcome: &Welcome,
    remote_addr: Option<std::net::SocketAddr>,
    hooks: Hooks,
) -> Client {
    let tracker = TaskTracker::new();
    let setup = Setup {
        id: welcome.session_id,
        role: Role::Client,
        remote_addr,
        identity: None,
        config,
        described: routes.describe(),
        routes,
        tracker: tracker.clone(),
        registry: None,
        dead_letters: None,
        peer_limits: welcome.limits,
        features: Features::from_names(&welcome.features),
        // A client has no server to shut down: only closing ends it.
        shutdown: CancellationToken::new(),
        shutdown_grace: None,
        hooks,
    };
    let (session, drive) = session::start(transport, setup);
    tracker.spawn(drive);
    tracker.close();
    let hold = Hold::new(session.shared(), "client dropped");
    Client {
        peer: Peer::held(Arc::clone(session.shared()), hold),
        session,
        limits: welcome.limits,
        tracker,
    }
}

/// A connection to a server. Call it through [`peer`](Self::peer), or
/// through a typed stub made from that peer:
/// `CalculatorClient::new(client.peer())`.
///
/// The connection stays open while the client, or any clone of its peer
/// (every stub made from it holds one), is alive; when the last of them is
/// dropped the session closes normally (1000, "client dropped"), and the
/// calls and handlers still in flight end. [`close`](Self::close) closes it
/// at once, whatever else holds it. So a stub made from a temporary client
/// works: `CalculatorClient::new(Client::connect(url).await?.peer())`.
pub struct Client {
    peer: Peer,
    session: Session,
    limits: Limits,
    tracker: TaskTracker,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("session", &self.session)
            .field("server_limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to `url` with the default configuration and no routers.
    ///
    /// # Errors
    ///
    /// See [`ClientBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Client, ConnectError> {
        Self::builder().connect(url).await
    }

    /// Starts building a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            config: ClientConfig::default(),
            routes: Routes::default(),
            mount_error: None,
            headers: Vec::new(),
            credentials: None,
            hooks: Hooks::default(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// The handle to call the server. It, and every clone of it, keeps the
    /// connection open as the client does (see [`Client`]): a typed stub
    /// made from it works after the client is dropped, and the session
    /// closes when the client and every such peer and stub are gone.
    ///
    /// A clone kept in the state of a router mounted on this same client
    /// would keep the connection open for as long as the connection lasts:
    /// a handler calls back through its request's session
    /// ([`Session::peer`]) instead, which holds nothing open.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// The client's session (its id is the server's id for it).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The limits the server announced in its handshake.
    pub fn server_limits(&self) -> Limits {
        self.limits
    }

    /// Closes normally (1000) and waits until the connection has ended,
    /// whether or not peers or stubs made from this client are still alive
    /// (their calls then fail with [`Error::Closed`](crate::Error::Closed)).
    pub async fn close(self) -> CloseReason {
        self.session
            .shared_close(CloseReason::local(close_code::NORMAL, "client closed"));
        self.tracker.wait().await;
        self.session.closed().await
    }
}
