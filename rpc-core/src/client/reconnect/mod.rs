//! [`ReconnectingClient`]: a client that outlives its connections. A task
//! of its own connects, watches the session, and connects again with the
//! [`ReconnectPolicy`]'s backoff whenever the link drops (the session
//! core's heartbeat turns a half-open link into a drop); calls wait for
//! the next connection or fail at once, as configured.

mod caller;
mod driver;
mod health;
mod policy;
mod state;
mod subscription;

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use tokio::{
    sync::{broadcast, watch},
    time::Instant,
};
use tokio_util::{
    sync::{CancellationToken, DropGuard},
    task::TaskTracker,
};

pub(super) use self::caller::with_operation_id;
use self::health::Health;
pub use self::{
    policy::ReconnectPolicy,
    state::{ConnectionEvent, ConnectionEvents, ConnectionState},
    subscription::{Delivery, Subscription},
};
use super::{
    BreakerConfig, BreakerState, Breakers, ClientBuilder, Connector, LatencySnapshot, LatencyStats,
};
use crate::{
    error::{CloseReason, ConnectError, Error},
    session::Peer,
};

/// What calls do while a [`ReconnectingClient`] has no connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhileDisconnected {
    /// Wait for the next connection, within the call's timeout; a call
    /// that runs out of time waiting fails with
    /// [`Error::Disconnected`] (it was never sent). The default.
    #[default]
    Wait,
    /// Fail at once with [`Error::Disconnected`].
    FailFast,
}

/// Runs on every new connection before calls are let through it: the
/// place to subscribe again to what the previous session was subscribed
/// to.
type OnConnected =
    Arc<dyn Fn(Peer) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send>> + Send + Sync>;

/// Builds a [`ReconnectingClient`] from a [`ClientBuilder`]
/// ([`ClientBuilder::reconnect`]): its routers, configuration, headers,
/// credentials and hooks apply to every connection it makes.
#[must_use = "a builder does nothing until `start` is called"]
pub struct ReconnectingBuilder {
    client: ClientBuilder,
    settings: Settings,
}

/// What every connection of a reconnecting client shares.
#[derive(Clone)]
pub(super) struct Settings {
    policy: ReconnectPolicy,
    pub(super) while_disconnected: WhileDisconnected,
    on_connected: Option<OnConnected>,
    pub(super) breakers: Option<BreakerConfig>,
    latency_window: Duration,
}

impl fmt::Debug for ReconnectingBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let settings = &self.settings;
        f.debug_struct("ReconnectingBuilder")
            .field("client", &self.client)
            .field("policy", &settings.policy)
            .field("while_disconnected", &settings.while_disconnected)
            .field("breakers", &settings.breakers)
            .field("latency_window", &settings.latency_window)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Builds a [`ReconnectingClient`] instead of a one-connection
    /// [`Client`](crate::Client).
    pub fn reconnect(self) -> ReconnectingBuilder {
        ReconnectingBuilder {
            client: self,
            settings: Settings {
                policy: ReconnectPolicy::default(),
                while_disconnected: WhileDisconnected::default(),
                on_connected: None,
                breakers: None,
                latency_window: LatencyStats::DEFAULT_WINDOW,
            },
        }
    }
}

impl ReconnectingBuilder {
    /// When to try again, and when to give up (default:
    /// [`ReconnectPolicy::default`], exponential with jitter, forever).
    pub fn policy(mut self, policy: ReconnectPolicy) -> Self {
        self.settings.policy = policy;
        self
    }

    /// What calls do while there is no connection (default: wait).
    pub fn while_disconnected(mut self, behaviour: WhileDisconnected) -> Self {
        self.settings.while_disconnected = behaviour;
        self
    }

    /// Runs `hook` on every new connection, before calls are let through
    /// it: subscribe again to topics or rooms (the server sees a new
    /// session, which has none of the old one's state). An error drops the
    /// connection, which counts as a failed attempt.
    pub fn on_connected<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Peer) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.settings.on_connected = Some(Arc::new(move |peer| Box::pin(hook(peer))));
        self
    }

    /// Guards calls with circuit breakers (default: none; a [`Pool`]'s
    /// members have them): after `config.failure_threshold` failures in a
    /// row, of the endpoint (the link dropped under calls, `busy`,
    /// `shutting down`) or of one method (timeouts, internal errors), calls
    /// to it fail fast with [`Error::CircuitOpen`] for the cooldown, then
    /// one probe call decides.
    ///
    /// [`Pool`]: crate::Pool
    pub fn breakers(mut self, config: BreakerConfig) -> Self {
        self.settings.breakers = Some(config);
        self
    }

    /// The window of the [latency statistics](ReconnectingClient::latency)
    /// (default: one minute).
    pub fn latency_window(mut self, window: Duration) -> Self {
        self.settings.latency_window = window;
        self
    }

    /// Checks the routers, configuration and URL, and starts connecting to
    /// `url` in the background. Returns at once: watch
    /// [`state`](ReconnectingClient::state) or
    /// [`events`](ReconnectingClient::events), or just call; calls wait for
    /// the connection (see [`WhileDisconnected`]). Must be called within a
    /// Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`ConnectError::InvalidUrl`], [`ConnectError::Mount`] or
    /// [`ConnectError::Config`]: what no attempt could fix. Failures to
    /// connect are retried, or reported as [`ConnectionEvent::Closed`].
    pub fn start(self, url: &str) -> Result<ReconnectingClient, ConnectError> {
        let connector = self.client.connector(url)?;
        Ok(ReconnectingClient::launch(connector, self.settings))
    }

    /// The builder's parts, for a pool.
    pub(super) fn into_parts(self) -> (ClientBuilder, Settings) {
        (self.client, self.settings)
    }
}

impl ReconnectingClient {
    /// Starts the driver that keeps `connector`'s connection up.
    pub(super) fn launch(connector: Connector, settings: Settings) -> Self {
        let (link, _) = watch::channel(Link::Connecting);
        let (events, _) = broadcast::channel(64);
        let stop = CancellationToken::new();
        let shared = Arc::new(Shared {
            link,
            events,
            while_disconnected: settings.while_disconnected,
            call_timeout: connector.config.session.call_timeout,
            url: connector.url().to_owned(),
            stop: stop.clone(),
            tracker: TaskTracker::new(),
            health: Health {
                latency: LatencyStats::new(settings.latency_window),
                breakers: settings.breakers.map(Breakers::new),
                in_flight: std::sync::atomic::AtomicUsize::new(0),
            },
        });
        shared.tracker.spawn(driver::run(
            Arc::clone(&shared),
            connector,
            settings.policy,
            settings.on_connected,
        ));
        shared.tracker.close();
        ReconnectingClient {
            shared,
            _owner: Arc::new(stop.drop_guard()),
        }
    }
}

/// Why a client closed by [`ReconnectingClient::close`] (or by dropping
/// every handle) ended.
fn closed_by_user() -> CloseReason {
    CloseReason::local(crate::protocol::close_code::NORMAL, "client closed")
}

/// The connection as calls see it.
#[derive(Clone)]
enum Link {
    /// The first attempt is under way.
    Connecting,
    /// Connected through this session's peer.
    Up(Peer),
    /// Waiting for, or making, this attempt.
    Down(u32),
    /// Closed for good, for this reason.
    Closed(CloseReason),
}

impl Link {
    fn state(&self) -> ConnectionState {
        match self {
            Link::Connecting => ConnectionState::Connecting,
            Link::Up(_) => ConnectionState::Connected,
            Link::Down(attempt) => ConnectionState::Reconnecting { attempt: *attempt },
            Link::Closed(_) => ConnectionState::Closed,
        }
    }
}

/// What the handles and the driver share. The driver holds no handle, so
/// dropping the last handle stops it.
struct Shared {
    link: watch::Sender<Link>,
    events: broadcast::Sender<ConnectionEvent>,
    while_disconnected: WhileDisconnected,
    call_timeout: Duration,
    url: String,
    stop: CancellationToken,
    tracker: TaskTracker,
    health: Health,
}

impl Shared {
    fn emit(&self, event: ConnectionEvent) {
        tracing::debug!(url = %self.url, ?event, "connection event");
        // No receiver is not an error: nobody is watching.
        let _ = self.events.send(event);
    }
}

/// A client that reconnects: one connection at a time to one server,
/// replaced with a new one whenever it drops, behind a handle that stays
/// valid throughout. Stubs made from it (`CalculatorClient::new(&client)`)
/// survive reconnects; routers mounted on its builder serve the server on
/// every connection.
///
/// A call made while there is no connection waits for one (or fails at
/// once, see [`WhileDisconnected`]). A call in flight when the link drops
/// fails with [`Error::Indeterminate`], unless its method is idempotent
/// (`#[rpc::call(idempotent)]`, or [`CallOptions::idempotent`]): that one
/// is sent again on the next connection under the same operation id, which
/// the server uses to run it at most once. Either kind retries, within its
/// timeout, a call that was certainly never sent.
///
/// Cheap to clone; the connection closes once every clone (and every stub
/// made from one) is dropped, or at once on [`close`](Self::close).
///
/// ```no_run
/// # extern crate rpc_core as rpc;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use rpc::{Client, ReconnectPolicy};
///
/// let client = Client::builder()
///     .reconnect()
///     .policy(ReconnectPolicy::default().max_attempts(10))
///     .start("ws://127.0.0.1:9000/")?;
/// let sum: i64 = client.call("add", &(1_i64, 2_i64)).await?;
/// # Ok(())
/// # }
/// ```
///
/// [`CallOptions::idempotent`]: crate::CallOptions::idempotent
#[derive(Clone)]
pub struct ReconnectingClient {
    shared: Arc<Shared>,
    /// Stops the driver when the last handle goes.
    _owner: Arc<DropGuard>,
}

impl fmt::Debug for ReconnectingClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectingClient")
            .field("url", &self.shared.url)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl ReconnectingClient {
    /// The URL it connects to.
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// Where the connection stands now.
    pub fn state(&self) -> ConnectionState {
        self.shared.link.borrow().state()
    }

    /// The connection's transitions from now on.
    pub fn events(&self) -> ConnectionEvents {
        ConnectionEvents {
            rx: self.shared.events.subscribe(),
        }
    }

    /// The current connection's peer, if connected.
    pub fn peer(&self) -> Option<Peer> {
        match &*self.shared.link.borrow() {
            Link::Up(peer) if !peer.is_closed() => Some(peer.clone()),
            _ => None,
        }
    }

    /// Latency statistics of its calls (all connections) over the
    /// [window](ReconnectingBuilder::latency_window): count, p50, p90, p99,
    /// max, the EWMA and the error rate.
    pub fn latency(&self) -> LatencySnapshot {
        self.shared.health.latency.snapshot()
    }

    /// Calls and stream opens waiting for their answers.
    pub fn in_flight(&self) -> usize {
        self.shared
            .health
            .in_flight
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The endpoint's circuit breaker, `None` without
    /// [breakers](ReconnectingBuilder::breakers).
    pub fn breaker_state(&self) -> Option<BreakerState> {
        let breakers = self.shared.health.breakers.as_ref()?;
        Some(breakers.endpoint().state())
    }

    /// The circuit breaker of `method`, `None` without
    /// [breakers](ReconnectingBuilder::breakers).
    pub fn method_breaker_state(&self, method: &str) -> Option<BreakerState> {
        let breakers = self.shared.health.breakers.as_ref()?;
        Some(breakers.method(method).state())
    }

    /// Waits until connected, within `limit`, and returns the connection's
    /// peer.
    ///
    /// # Errors
    ///
    /// [`Error::Disconnected`] when no connection came within `limit`,
    /// [`Error::Closed`] when the client closed (or gave up).
    pub async fn connected(&self, limit: Duration) -> Result<Peer, Error> {
        self.wait_for_peer(crate::deadline::after(limit), true)
            .await
    }

    /// Calls `method` with `args` (see [`Peer::call`]), through whichever
    /// connection is up.
    ///
    /// # Errors
    ///
    /// As [`Peer::call`], and [`Error::Disconnected`] (see
    /// [`ReconnectingClient`]).
    pub async fn call<A, R>(&self, method: &str, args: &A) -> Result<R, Error>
    where
        A: serde::Serialize + ?Sized + Sync,
        R: serde::de::DeserializeOwned,
    {
        crate::Caller::call_with(self, method, args, crate::CallOptions::default()).await
    }

    /// Closes the connection normally and for good, and waits until it has
    /// ended. Calls then fail with [`Error::Closed`].
    pub async fn close(&self) {
        self.shared.stop.cancel();
        self.shared.tracker.wait().await;
    }

    /// The peer of a live connection, waiting for one until `deadline`
    /// when `wait` (or the client waits while disconnected).
    async fn wait_for_peer(&self, deadline: Instant, wait: bool) -> Result<Peer, Error> {
        let wait = wait || self.shared.while_disconnected == WhileDisconnected::Wait;
        let mut link = self.shared.link.subscribe();
        loop {
            match &*link.borrow_and_update() {
                Link::Up(peer) if !peer.is_closed() => return Ok(peer.clone()),
                Link::Closed(reason) => return Err(Error::Closed(reason.clone())),
                _ if !wait => return Err(Error::Disconnected),
                // Down, connecting, or up on a session that is ending:
                // the driver is about to say so.
                _ => {}
            }
            match tokio::time::timeout_at(deadline, link.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(Error::Closed(closed_by_user())),
                Err(_) => return Err(Error::Disconnected),
            }
        }
    }
}
