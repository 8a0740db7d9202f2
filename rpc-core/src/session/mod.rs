//! The connection actor. Per connection: one reader loop that decodes frames
//! and never waits on user code (handlers run on the session's handler
//! pool, one task for all of them), one
//! writer loop that is the only writer of the socket and flushes queued frames
//! in batches, a table of pending calls and a bound on inbound calls in
//! flight. When the session closes, every pending call resolves at once with
//! [`Error::Closed`](crate::Error::Closed) and every handler is stopped.

mod handlers;
pub(crate) mod handshake;
mod hooks;
mod inbound;
mod job;
mod liveness;
mod operations;
mod peer;
mod pending;
mod raw;
mod reader;
pub(crate) mod reassembly;
mod slots;
pub(crate) mod streams;
mod tags;
#[cfg(test)]
mod tests;
mod writer;

pub(crate) use hooks::Hooks;
pub(crate) use operations::Operations;
pub(crate) use peer::Hold;
pub use peer::{CallOptions, Peer};
pub(crate) use slots::Slot;
pub use tags::TagError;

use std::{
    fmt,
    net::SocketAddr,
    sync::{
        Arc, Mutex, MutexGuard, OnceLock, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use bytes::Bytes;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::Instrument;

use crate::{
    codec,
    config::SessionConfig,
    error::CloseReason,
    identity::Identity,
    log_limit::LogLimit,
    metadata::DiscoverAnswer,
    metrics::record::{self, Refusal, SessionMetrics},
    outbound::{self, Class, Outbound},
    protocol::{ErrorCode, ErrorFrame, Features, Frame, Limits},
    push::{DeadLetters, PushHandle, Registry},
    router::Routes,
    schema::check::SchemaChecks,
    signal::Signal,
    transport::BoxTransport,
};

use inbound::Inbound;
use pending::Pending;

/// A handle to one live connection, given to handlers and kept by whoever
/// wants to reach the peer later. Cheap to clone.
///
/// Through it a handler learns who called ([`identity`](Self::identity)),
/// calls back ([`peer`](Self::peer)), and puts the session in rooms
/// ([`join`](Self::join), [`tag`](Self::tag)) where the server's
/// [`Registry`] finds it.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.shared.id)
            .field("remote_addr", &self.shared.remote_addr)
            .field("identity", &self.shared.identity)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Session {
    /// The session id, the same on both sides (the server assigns it).
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// The peer's socket address, when the transport has one.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.shared.remote_addr
    }

    /// The identity the server's authentication hook attached, if any.
    pub fn identity(&self) -> Option<&Identity> {
        self.shared.identity.as_ref()
    }

    /// A handle to call the other side of this session.
    pub fn peer(&self) -> Peer {
        Peer::new(Arc::clone(&self.shared))
    }

    /// A handle to push to this session from anywhere; it does not keep the
    /// session alive.
    pub fn push_handle(&self) -> PushHandle {
        PushHandle::new(&self.shared)
    }

    /// Stores `value` as this session's state of type `T`, replacing (and
    /// returning) an earlier one. Handlers read it back by declaring an
    /// [`Extension<T>`](crate::Extension) parameter, or with
    /// [`extension`](Self::extension). It lives as long as the session.
    ///
    /// ```
    /// # extern crate rpc_core as rpc;
    /// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
    ///
    /// #[derive(Clone, Default)]
    /// struct Calls(Arc<AtomicU64>);
    ///
    /// fn count(session: &rpc::Session) -> u64 {
    ///     if session.extension::<Calls>().is_none() {
    ///         session.insert_extension(Calls::default());
    ///     }
    ///     let calls = session.extension::<Calls>().unwrap_or_default();
    ///     calls.0.fetch_add(1, Ordering::Relaxed) + 1
    /// }
    /// ```
    pub fn insert_extension<T: Clone + Send + Sync + 'static>(&self, value: T) -> Option<T> {
        self.shared.extensions().insert(value)
    }

    /// A clone of this session's state of type `T`, if any was stored.
    pub fn extension<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.shared.extensions().get::<T>().cloned()
    }

    /// Removes and returns this session's state of type `T`.
    pub fn remove_extension<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.shared.extensions().remove::<T>()
    }

    /// The registry of the server this session belongs to (`None` on a
    /// client), to reach other sessions from a handler.
    pub fn registry(&self) -> Option<&Registry> {
        self.shared.registry.as_ref()
    }

    /// Closes the session normally (1000). Pending calls on both sides end
    /// with a closed error.
    pub fn close(&self) {
        self.shared.close(CloseReason::local(
            crate::protocol::close_code::NORMAL,
            "session closed",
        ));
    }

    /// Whether the session has started closing.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closing()
    }

    /// Waits until the session closes and tells why.
    pub async fn closed(&self) -> CloseReason {
        self.shared.closed().await
    }

    /// Whether the session is ending: its server began a graceful shutdown,
    /// or the session started closing. See [`shutting_down`](Self::shutting_down).
    pub fn is_shutting_down(&self) -> bool {
        self.shared.shutdown.is_cancelled() || self.is_closed()
    }

    /// Resolves when the session starts ending: on a server, when it begins
    /// a graceful shutdown (the handlers then have the shutdown grace to
    /// finish); on either side, when the session starts closing. A handler
    /// that runs until told to stop (a subscription, a long poll) selects on
    /// it to end early instead of being aborted when the grace runs out.
    /// Streams served with [`Request::send_stream`](crate::Request::send_stream)
    /// do so already.
    ///
    /// # Example
    ///
    /// ```
    /// # extern crate rpc_core as rpc;
    /// # async fn wait_for_news() -> u32 { 7 }
    /// async fn next_news(session: &rpc::Session) -> Option<u32> {
    ///     tokio::select! {
    ///         () = session.shutting_down() => None,
    ///         news = wait_for_news() => Some(news),
    ///     }
    /// }
    /// ```
    pub async fn shutting_down(&self) {
        tokio::select! {
            () = self.shared.shutdown.cancelled() => {}
            () = self.shared.closing() => {}
        }
    }

    /// Closes with a reason chosen by the library (client drop, shutdown).
    pub(crate) fn shared_close(&self, reason: CloseReason) {
        self.shared.close(reason);
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

/// Longest error message the library sends, in bytes: enough for a person,
/// and bounded whatever the peer's name for a method was.
pub(crate) const MAX_ERROR_MESSAGE: usize = 1024;

/// `message` cut to fit an error frame the peer accepts, and
/// [`MAX_ERROR_MESSAGE`].
fn fit_message(message: &str, peer_max_message: usize) -> &str {
    // An error frame's header besides the message: kind, id, code, length.
    const HEADER: usize = 1 + 10 + 3 + 10;
    crate::text::clip(
        message,
        MAX_ERROR_MESSAGE.min(peer_max_message.saturating_sub(HEADER)),
    )
}

/// Which end of the connection this side is; ids and logs differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Server,
    Client,
}

/// What a session needs from whoever accepted or opened the connection.
pub(crate) struct Setup {
    pub(crate) id: u64,
    pub(crate) role: Role,
    pub(crate) remote_addr: Option<SocketAddr>,
    pub(crate) identity: Option<Identity>,
    pub(crate) config: SessionConfig,
    pub(crate) routes: Arc<Routes>,
    pub(crate) described: DiscoverAnswer,
    pub(crate) tracker: TaskTracker,
    pub(crate) registry: Option<Registry>,
    pub(crate) dead_letters: Option<DeadLetters>,
    /// The limits the peer announced in its handshake frame.
    pub(crate) peer_limits: Limits,
    /// The optional features agreed in the handshake.
    pub(crate) features: Features,
    /// Cancelled when the server begins a graceful shutdown; never on a
    /// client.
    pub(crate) shutdown: CancellationToken,
    /// On a server's session, the grace its handlers get once `shutdown`
    /// is cancelled: the session then drains itself and closes (1001).
    pub(crate) shutdown_grace: Option<std::time::Duration>,
    /// The application's hooks on the session's start and end.
    pub(crate) hooks: Hooks,
}

/// State shared by the reader, the writer, handlers and handles.
pub(crate) struct Shared {
    id: u64,
    remote_addr: Option<SocketAddr>,
    identity: Option<Identity>,
    features: Features,
    config: SessionConfig,
    routes: Arc<Routes>,
    /// The discover answer, encoded once at mount time.
    described: DiscoverAnswer,
    /// Which schema hashes the peer accepted or refused.
    schema_checks: SchemaChecks,
    /// Everything waiting to be written to the peer.
    outbound: Outbound,
    /// The socket's write half, held by whoever writes (see [`writer`]).
    writing: futures_util::lock::Mutex<writer::Writing>,
    liveness: liveness::Liveness,
    /// Log lines for peer-driven events (refusals, the peer's errors,
    /// handlers it makes panic), bounded per window.
    log_limit: LogLimit,
    registry: Option<Registry>,
    dead_letters: Option<DeadLetters>,
    tags: tags::Tags,
    /// Typed per-session state ([`Session::insert_extension`]).
    extensions: Mutex<http::Extensions>,
    streams: streams::StreamTable,
    /// This side's share of the peer's `max_in_flight`.
    slots: slots::Slots,
    pending: Pending,
    inbound: Inbound,
    /// The server's table of recent operations; `None` on a client, which
    /// ignores the operation id header.
    operations: Option<Operations>,
    next_id: AtomicU64,
    /// Set during graceful shutdown: new calls are refused `shutting down`.
    draining: AtomicBool,
    /// Cancelled when the session starts closing; `close_reason` says why.
    closing: CancellationToken,
    /// Raised with `closing`, for the session's own loops, which wait on
    /// them at every turn: the reader and heartbeat (one task), the writer.
    stop_reading: Signal,
    stop_writing: Signal,
    /// Cancelled when the server begins a graceful shutdown.
    shutdown: CancellationToken,
    /// See [`Setup::shutdown_grace`].
    shutdown_grace: Option<std::time::Duration>,
    close_reason: OnceLock<CloseReason>,
    tracker: TaskTracker,
    span: tracing::Span,
    metrics: SessionMetrics,
}

impl Shared {
    /// A slot of the peer's `max_in_flight` for a call or stream, waiting
    /// at most `limit` (see [`SessionConfig::max_queued_calls`]).
    pub(crate) async fn slot(
        &self,
        limit: std::time::Duration,
    ) -> Result<slots::Slot, crate::Error> {
        self.slots
            .take(limit, || crate::Error::Closed(self.close_reason()))
            .await
    }

    /// The optional features agreed in the handshake.
    pub(crate) fn features(&self) -> Features {
        self.features
    }

    /// Which schema hashes the peer accepted or refused.
    pub(crate) fn schema_checks(&self) -> &SchemaChecks {
        &self.schema_checks
    }

    /// This side's discover answer, in the encoding the peer agreed.
    pub(crate) fn described(&self) -> &Bytes {
        self.described.for_features(self.features)
    }

    fn extensions(&self) -> MutexGuard<'_, http::Extensions> {
        self.extensions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts closing the session, once: records why, resolves pending calls,
    /// stops the handlers and tells the reader and writer.
    pub(crate) fn close(&self, reason: CloseReason) {
        if self.close_reason.set(reason).is_err() {
            return;
        }
        let reason = self.close_reason.get().expect("set above");
        let _enter = self.span.enter();
        if reason.by_peer || reason.code == crate::protocol::close_code::NORMAL {
            tracing::debug!(code = reason.code, reason = %reason.reason, by_peer = reason.by_peer, "session closing");
        } else {
            tracing::info!(code = reason.code, reason = %reason.reason, by_peer = reason.by_peer, "session closing");
        }
        self.metrics.closed(reason.code, reason.by_peer);
        let unlogged = self.log_limit.unlogged();
        if unlogged > 0 {
            tracing::info!(unlogged, "peer-driven warnings left out of the log");
        }
        self.pending.close(reason);
        self.slots.close();
        self.streams.close_all();
        self.inbound.abort_all();
        self.closing.cancel();
        self.stop_reading.raise();
        self.stop_writing.raise();
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Refuses a frame the peer would refuse: sending it would only make
    /// the peer close the session (1009), failing everything in flight.
    pub(crate) fn fits(&self, frame: &Bytes) -> Result<(), outbound::TooLarge> {
        self.outbound.fits(frame)
    }

    pub(crate) fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    pub(crate) fn config(&self) -> &SessionConfig {
        &self.config
    }

    pub(crate) fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    pub(crate) fn control(&self) -> &outbound::control::Control {
        &self.outbound.control
    }

    pub(crate) fn streams(&self) -> &streams::StreamTable {
        &self.streams
    }

    /// Whether the session has started closing. The reason is recorded
    /// before the token is cancelled, so this lock-free check agrees with it
    /// (`CancellationToken::is_cancelled` takes a lock: too dear per frame).
    pub(crate) fn is_closing(&self) -> bool {
        self.close_reason.get().is_some()
    }

    pub(crate) async fn closing(&self) {
        self.closing.cancelled().await;
    }

    pub(crate) fn dead_letters(&self) -> Option<&DeadLetters> {
        self.dead_letters.as_ref()
    }

    pub(crate) fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    pub(crate) fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    pub(crate) fn tags(&self) -> Vec<(String, String)> {
        self.tags.pairs()
    }

    pub(crate) fn has_tag(&self, key: &str, value: &str) -> bool {
        self.tags.contains(key, value)
    }

    pub(crate) fn close_reason(&self) -> CloseReason {
        self.close_reason
            .get()
            .cloned()
            .unwrap_or_else(|| CloseReason::abnormal("session ended"))
    }

    pub(crate) async fn closed(&self) -> CloseReason {
        self.closing.cancelled().await;
        self.close_reason()
    }

    /// Ids of calls, discover requests and streams: one space, so one
    /// answer table serves all three.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Queues a frame for the writer, waiting for room in the budget; fails
    /// once closed. A frame longer than the fragment size goes out in
    /// pieces; this returns once the last piece is with the writer, so
    /// order is kept.
    pub(crate) async fn send(&self, frame: Bytes) -> Result<(), CloseReason> {
        if self.is_closing() {
            return Err(self.close_reason());
        }
        // The common case, a small frame and room at once, registers no
        // waiter on the closing token, which would cost a lock per frame.
        let frame = if self.outbound.goes_whole(&frame) {
            match self.outbound.try_send(Class::Normal, frame) {
                Ok(()) => return Ok(()),
                Err(outbound::Full(frame)) => frame,
            }
        } else {
            frame
        };
        // Boxed: waiting for room is the rare case, and its future would
        // otherwise make every call's some 450 bytes larger.
        Box::pin(self.send_when_room(frame)).await
    }

    /// [`send`](Self::send) for a call's request, whose task waits for the
    /// answer next. When it is the only request in flight (and no other
    /// call's task is about to take its answer, and likely call again),
    /// nothing else would share the writer's round: this task writes it at
    /// once, if nobody else is writing (see [`writer`]).
    pub(crate) async fn send_call(&self, frame: Bytes) -> Result<(), CloseReason> {
        // Decided before the first await, so that this future holds no
        // other future but on the slow path: it sits in every call's.
        let frame = match self.queue_call(frame)? {
            Queued::Rung => return Ok(()),
            Queued::ToWrite => {
                std::future::poll_fn(|cx| {
                    writer::write_now(self, cx);
                    std::task::Poll::Ready(())
                })
                .await;
                return Ok(());
            }
            Queued::NoRoom(frame) => frame,
        };
        Box::pin(self.send_when_room(frame)).await
    }

    /// Queues a call's request if there is room at once; see
    /// [`send_call`](Self::send_call).
    fn queue_call(&self, frame: Bytes) -> Result<Queued, CloseReason> {
        if self.is_closing() {
            return Err(self.close_reason());
        }
        // Large messages go in pieces, which wait for room in a lane of
        // their own.
        if !self.outbound.goes_whole(&frame) {
            return Ok(Queued::NoRoom(frame));
        }
        let others = self.inbound.running_count() + self.pending.entries();
        let queued = if others > 1 {
            self.outbound
                .try_send(Class::Normal, frame)
                .map(|()| Queued::Rung)
        } else {
            self.outbound
                .try_send_unrung(frame)
                .map(|()| Queued::ToWrite)
        };
        Ok(queued.unwrap_or_else(|outbound::Full(frame)| Queued::NoRoom(frame)))
    }

    /// [`send`](Self::send) once the outbound queue has room.
    async fn send_when_room(&self, frame: Bytes) -> Result<(), CloseReason> {
        tokio::select! {
            biased;
            () = self.closing.cancelled() => Err(self.close_reason()),
            sent = self.outbound.send(Class::Normal, frame) => sent.map_err(|_| self.close_reason()),
        }
    }

    /// Queues a handler's answer without waiting: an answer that does not
    /// fit the outbound budget is replaced by a `busy` error, so finished
    /// handlers cannot pile up answers for a peer that does not read.
    pub(crate) fn answer(&self, id: u64, frame: Bytes) {
        let size = frame.len();
        if self.outbound.try_send(Class::Normal, frame).is_err() {
            record::refused(Refusal::AnswerOverBudget);
            let message = format!(
                "the answer of {size} bytes does not fit the outbound budget of {} bytes; the caller is not reading",
                self.config.outbound_budget
            );
            self.refuse(id, ErrorCode::BUSY, &message);
        }
    }

    /// Sends an error frame without waiting, through the refusal lane (id 0
    /// for errors that concern no call). The message is cut to fit the
    /// peer's limit; a peer that lets refusals pile up is closed with 1008.
    pub(crate) fn refuse(&self, id: u64, code: ErrorCode, message: &str) {
        let message = fit_message(message, self.outbound.peer_max_message());
        let frame = Frame::Error(ErrorFrame { id, code, message });
        let Ok(bytes) = codec::encode_raw(&frame, &[]) else {
            return;
        };
        if self.outbound.refuse(bytes).is_err() {
            self.close(CloseReason::local(
                crate::protocol::close_code::POLICY,
                format!(
                    "more than {} refusals unread: the peer sends requests without reading the answers",
                    self.config.refusal_lane
                ),
            ));
        }
    }

    /// Sends a handler's error answer without waiting; error data too large
    /// for the peer or the budget is dropped, the code and message still go.
    pub(crate) fn answer_error(&self, id: u64, code: ErrorCode, message: &str, data: &[u8]) {
        if data.is_empty() {
            return self.refuse(id, code, message);
        }
        let short = fit_message(message, self.outbound.peer_max_message());
        let frame = Frame::Error(ErrorFrame {
            id,
            code,
            message: short,
        });
        if let Ok(bytes) = codec::encode_raw(&frame, data)
            && self.fits(&bytes).is_ok()
            && self.outbound.try_send(Class::Normal, bytes).is_ok()
        {
            return;
        }
        let message = format!(
            "{message} (error data of {} bytes dropped: too large for the caller or the outbound budget)",
            data.len()
        );
        self.refuse(id, code, &message);
    }

    /// A served stream's handler is about to send its last frame: from then
    /// on the peer may reuse the id, so the handler no longer holds it.
    pub(crate) fn finish_served(&self, id: u64, serial: u64) {
        if self.inbound.finish(id, serial) {
            self.streams.forget_served(id);
        }
    }

    /// Requests in flight either way: this side's handlers and the calls it
    /// waits on. Lock-free on the handler side, one short lock for calls.
    pub(crate) fn in_flight(&self) -> usize {
        let running = self.inbound.running_count();
        if running > 1 {
            return running;
        }
        running + self.pending.len()
    }

    /// A server's session, once its server begins a graceful shutdown:
    /// refuses new calls with `shutting down`, waits up to the grace for
    /// the handlers in flight, then closes (1001). Never ends otherwise.
    pub(crate) async fn drain_on_shutdown(&self) {
        let Some(grace) = self.shutdown_grace else {
            return std::future::pending().await;
        };
        self.shutdown.cancelled().await;
        self.draining.store(true, Ordering::Release);
        if !self.inbound.idle(grace).await {
            tracing::warn!(
                ?grace,
                "grace period over; aborting the handlers still running"
            );
        }
        self.close(CloseReason::local(
            crate::protocol::close_code::GOING_AWAY,
            "server shutting down",
        ));
    }

    fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

/// Starts the session on an upgraded, handshaken WebSocket. Returns the
/// session handle and the future that drives the connection to its end;
/// the caller runs that future on a task it tracks.
pub(crate) fn start(ws: BoxTransport, setup: Setup) -> (Session, impl Future<Output = ()> + Send) {
    launch(ws, setup, None)
}

/// [`start`]s a server's session, whose calls naming an operation go
/// through the server's `operations`.
pub(crate) fn start_serving(
    ws: BoxTransport,
    setup: Setup,
    operations: Operations,
) -> (Session, impl Future<Output = ()> + Send) {
    launch(ws, setup, Some(operations))
}

fn launch(
    ws: BoxTransport,
    setup: Setup,
    operations: Option<Operations>,
) -> (Session, impl Future<Output = ()> + Send) {
    let span = match setup.role {
        Role::Server => {
            tracing::info_span!("session", id = setup.id, peer = ?setup.remote_addr, side = "server")
        }
        Role::Client => {
            tracing::info_span!("session", id = setup.id, peer = ?setup.remote_addr, side = "client")
        }
    };
    let config = &setup.config;
    let peer = setup.peer_limits;
    let outbound = Outbound::new(outbound::Limits {
        budget: config.outbound_budget,
        push_queue: config.push_queue,
        refusals: config.refusal_lane,
        peer_max_message: to_usize(peer.max_message_size),
        fragment_size: config.fragment_size,
    });
    let (sink, stream) = futures_util::StreamExt::split(ws);
    let drain = outbound::Drain::new(outbound::large::Large::new(
        config.fragment_size,
        outbound::large::ReassemblyLimits {
            max_partials: to_usize(peer.max_partials),
            max_bytes: to_usize(peer.max_reassembly),
        },
    ));
    let (inbound, handler_queue) = Inbound::new(config);
    let slots = slots::Slots::new(to_usize(peer.max_in_flight), config.max_queued_calls);
    let (metrics, open) = SessionMetrics::opened(match setup.role {
        Role::Server => record::Side::Server,
        Role::Client => record::Side::Client,
    });
    let shared = Arc::new(Shared {
        id: setup.id,
        remote_addr: setup.remote_addr,
        identity: setup.identity,
        features: setup.features,
        inbound,
        config: setup.config,
        routes: setup.routes,
        described: setup.described,
        schema_checks: SchemaChecks::default(),
        outbound,
        writing: futures_util::lock::Mutex::new(writer::Writing::new(sink, drain)),
        liveness: liveness::Liveness::new(),
        log_limit: LogLimit::new(),
        registry: setup.registry,
        dead_letters: setup.dead_letters,
        tags: tags::Tags::default(),
        extensions: Mutex::default(),
        streams: streams::StreamTable::default(),
        slots,
        pending: Pending::default(),
        operations,
        next_id: AtomicU64::new(1),
        draining: AtomicBool::new(false),
        closing: CancellationToken::new(),
        stop_reading: Signal::default(),
        stop_writing: Signal::default(),
        shutdown: setup.shutdown,
        shutdown_grace: setup.shutdown_grace,
        close_reason: OnceLock::new(),
        tracker: setup.tracker,
        span: span.clone(),
        metrics,
    });
    if let Some(registry) = &shared.registry {
        shared.tags.register(registry, &shared);
    }
    let session = Session {
        shared: Arc::clone(&shared),
    };
    if let Some(on_connect) = &setup.hooks.on_connect {
        on_connect(&session);
    }
    let on_disconnect = setup.hooks.on_disconnect;
    let ended = session.clone();
    let release = ReleaseSocket(Arc::clone(&shared));
    let drive = async move {
        let _open = open;
        let _release = release;
        drive(stream, shared, handler_queue).await;
        if let Some(on_disconnect) = on_disconnect {
            on_disconnect(&ended, &ended.shared.close_reason());
        }
    };
    (session, drive.instrument(span))
}

/// Where [`Shared::queue_call`] put a call's request.
enum Queued {
    /// Queued, and the writer rung.
    Rung,
    /// Queued without ringing: the caller writes it.
    ToWrite,
    /// Not queued: the caller waits for room.
    NoRoom(Bytes),
}

/// Drops the socket's write half with the session's driver, should the
/// writer task not have taken it back: a driver dropped unpolled (sessions
/// made for tests and benchmarks) or cut short. The shared state, which
/// handles keep, must not keep the transport open.
struct ReleaseSocket(Arc<Shared>);

impl Drop for ReleaseSocket {
    fn drop(&mut self) {
        // Held by nobody once the driver is gone, unless a caller is
        // writing this very moment; the write half then goes with the
        // session.
        if let Some(mut writing) = self.0.writing.try_lock() {
            writing.release();
        }
    }
}

fn to_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Runs reader, writer, handler pool and heartbeat until the session
/// closes, then lingers so the close frame reaches the peer, then stops what
/// is left.
async fn drive(
    stream: futures_util::stream::SplitStream<BoxTransport>,
    shared: Arc<Shared>,
    handler_queue: handlers::Queue<job::Job>,
) {
    tracing::debug!("session open");
    let writer = tokio::spawn(writer::run(Arc::clone(&shared)).in_current_span());
    let pool = tokio::spawn(handlers::run(handler_queue).in_current_span());
    // The heartbeat and the call timer are polled only when they wake, not
    // on every burst the reader reads, and stop with the reader.
    let stream = crate::beside::beside(reader::run(stream, &shared), liveness::run(&shared)).await;
    // Closing stopped the pool; its handlers are dropped by now or soon.
    if pool.await.is_err() {
        tracing::error!("handler pool panicked");
    }
    // The reader returns only once closing started; the writer then sends
    // the close frame (or has failed) and hands the socket back.
    let writer = writer.await;
    // The session leaves the registry and its indexes even if the writer
    // panicked: a stale entry would outlive the session.
    if let Some(registry) = &shared.registry {
        shared.tags.unregister(registry, &shared);
    }
    let sink = match writer {
        Ok(Some(sink)) => sink,
        Ok(None) => return,
        Err(_) => {
            tracing::error!("writer task panicked");
            return;
        }
    };
    if let Ok(ws) = stream.reunite(sink) {
        ws.linger(shared.config.close_timeout).await;
    }
    tracing::debug!("session ended");
}
