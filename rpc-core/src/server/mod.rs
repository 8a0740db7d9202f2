//! The server: binds a TCP listener, upgrades connections to WebSocket
//! (connection limit and authentication first), runs a session per
//! connection, and shuts down gracefully.
//!
//! Task structure: one accept loop; one task per connection, which runs the
//! session's reader and drives its writer task and its handler pool (one task
//! that polls every handler of the session). Connections are spawned on one
//! [`TaskTracker`], and each waits for its writer and pool, so shutdown can
//! wait for all of them.
//!
//! Shutdown cancels one token. Sessions drain (their handlers see it through
//! [`Session::shutting_down`](crate::Session::shutting_down)); handshakes
//! not yet finished are closed with 1013; the accept loop goes on answering
//! new connections 503 until every connection past its upgrade has ended,
//! then stops, and connections still upgrading are dropped.

mod connection;
mod forwarded;
#[cfg(feature = "tls")]
mod tls;
mod upgrade;
#[cfg(feature = "hyper")]
mod upgrader;

use std::{
    fmt,
    net::SocketAddr,
    sync::{Arc, atomic::AtomicU64},
};

use futures_util::Stream;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::{TcpListener, ToSocketAddrs},
    sync::{Semaphore, mpsc},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    auth::{AuthHook, Refusal, UpgradeRequest},
    config::ServerConfig,
    error::{CloseReason, MountError, ServeError},
    identity::Identity,
    push::{DeadLetter, DeadLetters, Registry},
    router::{Router, Routes},
    session::{Hooks, Operations, Session},
    transport::websocket,
};

use connection::Accepted;
#[cfg(feature = "hyper")]
pub use upgrader::Upgrader;

/// Builds a [`Server`]: configuration, routers, authentication.
#[must_use = "a builder does nothing until `bind` is awaited"]
pub struct ServerBuilder {
    config: ServerConfig,
    routes: Routes,
    mount_error: Option<MountError>,
    auth: Option<Arc<AuthHook>>,
    hooks: Hooks,
    dead_letters: Option<DeadLetters>,
    cluster: Option<crate::Cluster>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::ServerTls>,
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("config", &self.config)
            .field("routes", &self.routes)
            .field("auth", &self.auth.is_some())
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// Replaces the configuration (default: [`ServerConfig::default`]).
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Serves `router`'s methods on every connection. Method names must be
    /// unique across mounted routers; a collision makes [`bind`](Self::bind)
    /// fail with [`MountError`].
    pub fn mount<R: Router>(mut self, router: R) -> Self {
        if self.mount_error.is_none()
            && let Err(err) = self.routes.mount(Arc::new(router))
        {
            self.mount_error = Some(err);
        }
        self
    }

    /// Awaits `hook` for every upgrade request, before any session exists
    /// and after the connection limit, shutdown, origin and subprotocol
    /// checks. It refuses with a 4xx status and a reason ([`Refusal`]) or
    /// admits, optionally with an [`Identity`] (which can carry the
    /// application's own data) that handlers read through
    /// [`Session::identity`](crate::Session::identity). The hook runs within
    /// the [`handshake_timeout`](ServerConfig::handshake_timeout): a
    /// connection whose hook has not answered by then is dropped.
    ///
    /// ```no_run
    /// # extern crate rpc_core as rpc;
    /// # async fn example() -> Result<(), rpc::ServeError> {
    /// use rpc::{Identity, Refusal, Server, UpgradeRequest};
    ///
    /// struct Roles(Vec<String>);
    ///
    /// async fn look_up(token: &str) -> Option<(String, Vec<String>)> {
    ///     // A database or an identity provider, asked without blocking.
    ///     (token == "Bearer alice-token").then(|| ("alice".into(), vec!["admin".into()]))
    /// }
    ///
    /// let server = Server::builder()
    ///     .authenticate_async(|request: UpgradeRequest| async move {
    ///         let token = request.header("authorization").unwrap_or_default();
    ///         match look_up(token).await {
    ///             Some((user, roles)) => Ok(Some(Identity::new(user).with(Roles(roles)))),
    ///             None => Err(Refusal::unauthorized("unknown token")),
    ///         }
    ///     })
    ///     .bind("127.0.0.1:0")
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn authenticate_async<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(UpgradeRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Identity>, Refusal>> + Send + 'static,
    {
        self.auth = Some(Arc::new(move |request| Box::pin(hook(request))));
        self
    }

    /// The synchronous form of [`authenticate_async`](Self::authenticate_async),
    /// for a hook that needs nothing but the request to decide.
    pub fn authenticate<F>(self, hook: F) -> Self
    where
        F: Fn(&UpgradeRequest) -> Result<Option<Identity>, Refusal> + Send + Sync + 'static,
    {
        self.authenticate_async(move |request| std::future::ready(hook(&request)))
    }

    /// Wraps every handler of the mounted routers in `layer` (see
    /// [`middleware`](crate::middleware)); layers added first run
    /// outermost. Without layers a call pays nothing for them.
    pub fn layer<M: crate::middleware::Middleware>(mut self, layer: M) -> Self {
        self.routes.layers.push(Arc::new(layer));
        self
    }

    /// Runs `hook` on every new session once it exists (after the
    /// authentication hook and the protocol handshake), before the session
    /// reads its first frame: the place to store per-session state with
    /// [`Session::insert_extension`], which handlers then take as an
    /// [`Extension<T>`](crate::Extension) parameter, or to tag the session.
    ///
    /// ```no_run
    /// # extern crate rpc_core as rpc;
    /// # async fn example() -> Result<(), rpc::ServeError> {
    /// use std::sync::{Arc, Mutex};
    ///
    /// #[derive(Clone, Default)]
    /// struct Cart(Arc<Mutex<Vec<String>>>);
    ///
    /// let server = rpc::Server::builder()
    ///     .on_connect(|session| {
    ///         session.insert_extension(Cart::default());
    ///     })
    ///     .bind("127.0.0.1:0")
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_connect<F>(mut self, hook: F) -> Self
    where
        F: Fn(&Session) + Send + Sync + 'static,
    {
        self.hooks.on_connect = Some(Arc::new(hook));
        self
    }

    /// Runs `hook` on every session once it has ended, with its close
    /// reason; the session's identity, tags and extensions are still there
    /// to read. With [`on_connect`](Self::on_connect), the place to keep the
    /// application's own presence list or directory.
    pub fn on_disconnect<F>(mut self, hook: F) -> Self
    where
        F: Fn(&Session, &CloseReason) + Send + Sync + 'static,
    {
        self.hooks.on_disconnect = Some(Arc::new(hook));
        self
    }

    /// Sends every push that could not be delivered (full queue, closed
    /// session, rate limit) to `sender`, with its reason and payload, instead
    /// of dropping it. If `sender` is full too, the loss is logged as an error.
    pub fn dead_letters(mut self, sender: mpsc::Sender<DeadLetter>) -> Self {
        self.dead_letters = Some(DeadLetters::new(sender));
        self
    }

    /// Makes the server one node of `cluster`: its registry's broadcasts
    /// and pushes reach sessions on the other nodes through the cluster's
    /// bus, and presence tells which identities are on which node
    /// ([`Registry::cluster`]). See docs/scale-out.md.
    pub fn cluster(mut self, cluster: crate::Cluster) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Serves every connection over TLS with `tls`'s certificate (the
    /// `tls` feature): clients connect with `wss://`. Each connection's
    /// task runs its TLS handshake before the WebSocket upgrade, within
    /// [`handshake_timeout`](ServerConfig::handshake_timeout); one that
    /// fails is logged and dropped. It applies to connections from
    /// [`serve_with`](Self::serve_with) too.
    ///
    /// ```no_run
    /// # extern crate rpc_core as rpc;
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use rpc::{Server, ServerTls};
    ///
    /// let server = Server::builder()
    ///     .tls(ServerTls::from_pem_files("cert.pem", "key.pem")?)
    ///     .bind("0.0.0.0:9443")
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Binds `addr` and starts serving in the background.
    ///
    /// # Errors
    ///
    /// [`ServeError::Mount`] for colliding routers, [`ServeError::Config`] for
    /// an invalid configuration, [`ServeError::Bind`] when the address cannot
    /// be bound.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> Result<Server, ServeError> {
        let listener = TcpListener::bind(addr).await.map_err(ServeError::Bind)?;
        self.serve(listener)
    }

    /// Serves connections accepted from `listener`, a listener the caller
    /// bound with whatever socket options it wants. Every connection gets
    /// no-delay and the session's TCP keepalive.
    ///
    /// # Errors
    ///
    /// [`ServeError::Mount`], [`ServeError::Config`], or [`ServeError::Bind`]
    /// when the listener has no local address.
    pub fn serve(self, listener: TcpListener) -> Result<Server, ServeError> {
        let local_addr = listener.local_addr().map_err(ServeError::Bind)?;
        let keepalive = self.config.session.tcp_keepalive;
        let accepted = futures_util::stream::unfold(listener, move |listener| async move {
            let accepted = listener.accept().await.map(|(tcp, addr)| {
                websocket::tune(&tcp, keepalive);
                Accepted {
                    io: Box::new(tcp),
                    remote_addr: Some(addr),
                }
            });
            Some((accepted, listener))
        });
        let server = self.start(Box::pin(accepted), Some(local_addr))?;
        tracing::info!(addr = %local_addr, "listening");
        Ok(server)
    }

    /// Serves every connection `incoming` yields: Unix sockets, TLS
    /// streams, anything that reads and writes bytes. Each is upgraded to
    /// WebSocket with the connection limit and the authentication hook, as
    /// [`bind`](Self::bind) does. An error item is logged and accepting goes
    /// on after a short pause; when the stream ends, the server stops
    /// accepting and stops once its sessions have ended.
    ///
    /// # Errors
    ///
    /// [`ServeError::Mount`] for colliding routers, [`ServeError::Config`]
    /// for an invalid configuration.
    pub fn serve_with<S, I>(self, incoming: S) -> Result<Server, ServeError>
    where
        S: Stream<Item = std::io::Result<I>> + Send + 'static,
        I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        use futures_util::StreamExt;
        let accepted = incoming.map(|io| {
            io.map(|io| Accepted {
                io: Box::new(io),
                remote_addr: None,
            })
        });
        self.start(Box::pin(accepted), None)
    }

    /// Builds a server that accepts no connection itself: an HTTP server
    /// of yours routes upgrade requests to it through
    /// [`Server::upgrader`] (hyper) or
    /// [`Upgrader::into_route`] (axum), sharing your port with your other
    /// routes. Limits, authentication, the registry and graceful shutdown
    /// are the same as with [`bind`](Self::bind).
    ///
    /// # Errors
    ///
    /// [`ServeError::Mount`] for colliding routers, [`ServeError::Config`]
    /// for an invalid configuration.
    #[cfg(feature = "hyper")]
    pub fn build(self) -> Result<Server, ServeError> {
        self.start(Box::pin(futures_util::stream::pending()), None)
    }

    fn start(
        self,
        incoming: connection::Incoming,
        local_addr: Option<SocketAddr>,
    ) -> Result<Server, ServeError> {
        if let Some(err) = self.mount_error {
            return Err(err.into());
        }
        self.config.validate()?;
        if let Some(cluster) = &self.cluster {
            cluster.validate()?;
        }
        let described = self.routes.describe();
        let (node, driver) = self
            .cluster
            .map(|cluster| {
                crate::push::cluster_node(
                    cluster,
                    self.config.registry_events,
                    self.dead_letters.clone(),
                )
            })
            .unzip();
        let registry = Registry::with_node(self.config.registry_events, node);
        let shutdown = CancellationToken::new();
        let ctx = Arc::new(Context {
            operations: Operations::new(&self.config, shutdown.clone()),
            connections: Arc::new(Semaphore::new(self.config.max_connections)),
            refusing: Arc::new(Semaphore::new(connection::MAX_REFUSING)),
            config: self.config,
            routes: Arc::new(self.routes),
            described,
            auth: self.auth,
            hooks: self.hooks,
            registry,
            dead_letters: self.dead_letters,
            #[cfg(feature = "tls")]
            tls: self.tls,
            shutdown,
            sessions: TaskTracker::new(),
            stopped: CancellationToken::new(),
            tracker: TaskTracker::new(),
            next_session: AtomicU64::new(1),
        });
        ctx.tracker
            .spawn(connection::accept_loop(incoming, Arc::clone(&ctx)));
        if let Some(driver) = driver {
            ctx.tracker
                .spawn(driver.run(ctx.registry.clone(), ctx.shutdown.clone()));
        }
        Ok(Server { local_addr, ctx })
    }
}

/// What a session made outside the server's accept loop (the in-memory
/// pair) needs of a builder.
pub(crate) struct Parts {
    pub(crate) config: ServerConfig,
    pub(crate) routes: Routes,
    pub(crate) dead_letters: Option<DeadLetters>,
    pub(crate) hooks: Hooks,
}

impl ServerBuilder {
    /// The routes and configuration, checked.
    pub(crate) fn into_parts(self) -> Result<Parts, ServeError> {
        if let Some(err) = self.mount_error {
            return Err(err.into());
        }
        self.config.validate()?;
        Ok(Parts {
            config: self.config,
            routes: self.routes,
            dead_letters: self.dead_letters,
            hooks: self.hooks,
        })
    }
}

/// What every connection task of a server shares.
struct Context {
    config: ServerConfig,
    routes: Arc<Routes>,
    described: crate::metadata::DiscoverAnswer,
    auth: Option<Arc<AuthHook>>,
    hooks: Hooks,
    registry: Registry,
    dead_letters: Option<DeadLetters>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::ServerTls>,
    connections: Arc<Semaphore>,
    /// Connections over the limit being told 503 at once.
    refusing: Arc<Semaphore>,
    /// Cancelled when graceful shutdown begins.
    shutdown: CancellationToken,
    /// Holds a token for each connection past its upgrade: the accept loop
    /// keeps answering 503 until all of them have ended.
    sessions: TaskTracker,
    /// Cancelled when the accept loop has stopped: the server has stopped.
    stopped: CancellationToken,
    tracker: TaskTracker,
    next_session: AtomicU64,
    /// Recent operations of every session: a retry comes on another one.
    operations: Operations,
}

/// A running server. Dropping it starts a graceful shutdown without waiting
/// for it; [`shutdown`](Self::shutdown) waits.
pub struct Server {
    local_addr: Option<SocketAddr>,
    ctx: Arc<Context>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts building a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            config: ServerConfig::default(),
            routes: Routes::default(),
            mount_error: None,
            auth: None,
            hooks: Hooks::default(),
            dead_letters: None,
            cluster: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// The address the server listens on (with the real port when bound to
    /// port 0); `None` for a server fed by
    /// [`serve_with`](ServerBuilder::serve_with).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// Upgrades requests that an HTTP server of yours routes to the
    /// endpoint; see [`ServerBuilder::build`].
    #[cfg(feature = "hyper")]
    pub fn upgrader(&self) -> Upgrader {
        Upgrader::new(Arc::clone(&self.ctx))
    }

    /// Waits until the server has stopped: it stopped accepting (shutdown
    /// began, or the stream given to
    /// [`serve_with`](ServerBuilder::serve_with) ended) and its last session
    /// has ended.
    pub async fn stopped(&self) {
        self.ctx.stopped.cancelled().await;
    }

    /// The registry of live sessions: look-up by id, identity or tag, and
    /// broadcast.
    pub fn registry(&self) -> &Registry {
        &self.ctx.registry
    }

    /// Connections open now, including those still in their handshake.
    pub fn connections(&self) -> usize {
        self.ctx.config.max_connections - self.ctx.connections.available_permits()
    }

    /// Shuts down gracefully: refuses new connections with HTTP 503 (and a
    /// handshake not yet finished with close 1013), refuses new calls with
    /// `shutting down`, tells handlers through
    /// [`Session::shutting_down`](crate::Session::shutting_down) and ends
    /// served streams with `shutting down`, lets calls in flight finish for
    /// up to [`shutdown_grace`](ServerConfig::shutdown_grace), closes every
    /// session with 1001, stops accepting once the last session has ended,
    /// and returns once every task of the server has ended.
    pub async fn shutdown(self) {
        tracing::info!(grace = ?self.ctx.config.shutdown_grace, "shutting down");
        self.ctx.shutdown.cancel();
        self.ctx.tracker.close();
        self.ctx.tracker.wait().await;
        tracing::info!("shut down");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.ctx.shutdown.cancel();
        self.ctx.tracker.close();
    }
}
