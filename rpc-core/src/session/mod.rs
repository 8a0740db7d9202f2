//! The connection actor. Per connection: one reader loop that decodes frames
//! and never waits on user code (each handler runs on a task of its own), one
//! writer loop that is the only writer of the socket and flushes queued frames
//! in batches, a table of pending calls and a bound on inbound calls in
//! flight. When the session closes, every pending call resolves at once with
//! [`Error::Closed`](crate::Error::Closed) and every handler task is stopped.

mod control;
pub(crate) mod fragment;
pub(crate) mod handshake;
mod inbound;
mod peer;
mod pending;
mod reader;
pub(crate) mod streams;
mod tags;
mod writer;

pub use peer::{CallOptions, Peer};

use std::{
    fmt,
    net::SocketAddr,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::Instrument;

use crate::{
    auth::Identity,
    codec,
    config::SessionConfig,
    error::CloseReason,
    protocol::{ErrorCode, ErrorFrame, Frame},
    push::{Audience, DeadLetters, Priority, PushHandle, Registry, queue::PushQueue},
    router::Routes,
    transport::{self, Ws},
};

use inbound::Inbound;
use pending::Pending;

/// A handle to one live connection, given to handlers and kept by whoever
/// wants to reach the peer later. Cheap to clone.
///
/// Through it a handler learns who called ([`identity`](Self::identity)) and
/// calls back ([`peer`](Self::peer)).
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

    /// Tags the session `key=value`, replacing an earlier value of `key`, so
    /// that the registry finds it ([`Audience::Tag`]).
    pub fn tag(&self, key: impl Into<String>, value: impl Into<String>) {
        self.shared.tags.set(key.into(), value.into());
    }

    /// Removes the tag `key`.
    pub fn untag(&self, key: &str) {
        self.shared.tags.remove(key);
    }

    /// The value of tag `key`.
    pub fn tag_value(&self, key: &str) -> Option<String> {
        self.shared.tags.get(key)
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

    /// Closes with a reason chosen by the library (client drop, shutdown).
    pub(crate) fn shared_close(&self, reason: CloseReason) {
        self.shared.close(reason);
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Graceful end: refuses new calls with `shutting down`, waits up to
    /// `grace` for the handlers in flight, then closes with `reason`.
    pub(crate) async fn drain(&self, grace: std::time::Duration, reason: CloseReason) {
        self.shared.set_draining();
        if !self.shared.inbound.idle(grace).await {
            tracing::warn!(
                ?grace,
                "grace period over; aborting the handlers still running"
            );
        }
        self.shared.close(reason);
    }
}

/// A frame larger than the peer accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TooLarge {
    pub(crate) size: usize,
    pub(crate) max: usize,
}

impl From<TooLarge> for crate::error::Error {
    fn from(too_large: TooLarge) -> Self {
        crate::error::Error::TooLarge {
            size: too_large.size,
            max: too_large.max,
        }
    }
}

impl TooLarge {
    /// The error frame a handler's oversized answer becomes.
    pub(crate) fn message(self) -> String {
        format!(
            "the answer of {} bytes exceeds the caller's message size limit of {} bytes",
            self.size, self.max
        )
    }
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
    pub(crate) described: Bytes,
    pub(crate) tracker: TaskTracker,
    pub(crate) registry: Option<Registry>,
    pub(crate) dead_letters: Option<DeadLetters>,
    /// Largest message the peer accepts, from its handshake frame.
    pub(crate) peer_max_message: usize,
}

/// State shared by the reader, the writer, handler tasks and handles.
pub(crate) struct Shared {
    id: u64,
    remote_addr: Option<SocketAddr>,
    identity: Option<Identity>,
    config: SessionConfig,
    routes: Arc<Routes>,
    /// The discover answer, encoded once at mount time.
    described: Bytes,
    /// Largest message the peer said it accepts.
    peer_max_message: usize,
    outbound: mpsc::Sender<Bytes>,
    /// Fragments of large messages, one taken per writer round.
    bulk: mpsc::Sender<fragment::Piece>,
    next_fragmented: AtomicU64,
    /// Push queues by priority; the writer serves high before `outbound`
    /// and low after it.
    high: PushQueue,
    low: PushQueue,
    /// Rung by the push queues and the control lane when they get a frame.
    doorbell: Arc<tokio::sync::Notify>,
    registry: Option<Registry>,
    dead_letters: Option<DeadLetters>,
    tags: tags::Tags,
    control: control::Control,
    streams: streams::StreamTable,
    pending: Pending,
    inbound: Inbound,
    next_id: AtomicU64,
    /// Set during graceful shutdown: new calls are refused `shutting down`.
    draining: AtomicBool,
    /// Cancelled when the session starts closing; `close_reason` says why.
    closing: CancellationToken,
    close_reason: OnceLock<CloseReason>,
    tracker: TaskTracker,
    span: tracing::Span,
}

impl Shared {
    /// Starts closing the session, once: records why, resolves pending calls,
    /// stops handler tasks and tells the reader and writer.
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
        self.pending.close(reason);
        self.streams.close_all();
        self.inbound.abort_all();
        self.closing.cancel();
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Refuses a frame the peer would refuse: sending it would only make
    /// the peer close the session (1009), failing everything in flight.
    pub(crate) fn fits(&self, frame: &Bytes) -> Result<(), TooLarge> {
        if frame.len() <= self.peer_max_message {
            Ok(())
        } else {
            Err(TooLarge {
                size: frame.len(),
                max: self.peer_max_message,
            })
        }
    }

    pub(crate) fn config(&self) -> &SessionConfig {
        &self.config
    }

    pub(crate) fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    pub(crate) fn control(&self) -> &control::Control {
        &self.control
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

    pub(crate) fn push_queue(&self, priority: Priority) -> &PushQueue {
        match priority {
            Priority::High => &self.high,
            Priority::Low => &self.low,
        }
    }

    pub(crate) fn dead_letters(&self) -> Option<&DeadLetters> {
        self.dead_letters.as_ref()
    }

    pub(crate) fn matches(&self, audience: Audience<'_>) -> bool {
        match audience {
            Audience::All => true,
            Audience::Tag(key, value) => self.tags.get(key).is_some_and(|v| v == value),
            Audience::Identity(subject) => self
                .identity
                .as_ref()
                .is_some_and(|id| id.subject() == subject),
        }
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

    /// Queues a frame for the writer, waiting for room; fails once closed.
    /// Frames longer than the fragment size go out in pieces; this returns
    /// once the last piece is with the writer, so order is kept.
    pub(crate) async fn send(&self, frame: Bytes) -> Result<(), CloseReason> {
        let size = self.config.fragment_size;
        if frame.len() <= size {
            // The common case: room in the queue. No waiter is registered
            // on the closing token, which would cost a lock per frame.
            if self.is_closing() {
                return Err(self.close_reason());
            }
            let frame = match self.outbound.try_send(frame) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(self.close_reason()),
                Err(mpsc::error::TrySendError::Full(frame)) => frame,
            };
            return tokio::select! {
                biased;
                () = self.closing.cancelled() => Err(self.close_reason()),
                sent = self.outbound.send(frame) => sent.map_err(|_| self.close_reason()),
            };
        }
        let message = self.next_fragmented.fetch_add(1, Ordering::Relaxed);
        tokio::select! {
            biased;
            () = self.closing.cancelled() => Err(self.close_reason()),
            sent = fragment::send_in_pieces(&self.bulk, message, &frame, size) => {
                sent.map_err(|()| self.close_reason())
            }
        }
    }

    /// Sends an error frame (id 0 for errors that concern no call).
    pub(crate) async fn send_error(&self, id: u64, code: ErrorCode, message: &str, data: &[u8]) {
        let frame = Frame::Error(ErrorFrame { id, code, message });
        match codec::encode_raw(&frame, data) {
            Ok(bytes) => match self.fits(&bytes) {
                Ok(()) => {
                    let _ = self.send(bytes).await;
                }
                // Error data too large for the peer: the code and a short
                // message still fit.
                Err(too_large) => {
                    let message =
                        format!("{message} (error data dropped: {})", too_large.message());
                    let frame = Frame::Error(ErrorFrame {
                        id,
                        code,
                        message: &message,
                    });
                    if let Ok(bytes) = codec::encode(&frame) {
                        let _ = self.send(bytes).await;
                    }
                }
            },
            Err(err) => tracing::error!(error = %err, "error frame does not encode"),
        }
    }

    pub(crate) fn set_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

/// Starts the session on an upgraded, handshaken WebSocket. Returns the
/// session handle and the future that drives the connection to its end;
/// the caller runs that future on a task it tracks.
pub(crate) fn start(ws: Ws, setup: Setup) -> (Session, impl Future<Output = ()> + Send) {
    let (outbound, rx) = mpsc::channel(setup.config.outbound_queue);
    let (bulk, bulk_rx) = mpsc::channel(fragment::LANE_DEPTH);
    let span = match setup.role {
        Role::Server => {
            tracing::info_span!("session", id = setup.id, peer = ?setup.remote_addr, side = "server")
        }
        Role::Client => {
            tracing::info_span!("session", id = setup.id, peer = ?setup.remote_addr, side = "client")
        }
    };
    let inbound = Inbound::new(&setup.config);
    let doorbell = Arc::new(tokio::sync::Notify::new());
    let (high, low) = (
        PushQueue::new(setup.config.push_queue, Arc::clone(&doorbell)),
        PushQueue::new(setup.config.push_queue, Arc::clone(&doorbell)),
    );
    let shared = Arc::new(Shared {
        id: setup.id,
        remote_addr: setup.remote_addr,
        identity: setup.identity,
        config: setup.config,
        routes: setup.routes,
        described: setup.described,
        peer_max_message: setup.peer_max_message,
        outbound,
        bulk,
        next_fragmented: AtomicU64::new(0),
        high,
        low,
        control: control::Control::new(Arc::clone(&doorbell)),
        doorbell,
        registry: setup.registry,
        dead_letters: setup.dead_letters,
        tags: tags::Tags::default(),
        streams: streams::StreamTable::default(),
        pending: Pending::default(),
        inbound,
        next_id: AtomicU64::new(1),
        draining: AtomicBool::new(false),
        closing: CancellationToken::new(),
        close_reason: OnceLock::new(),
        tracker: setup.tracker,
        span: span.clone(),
    });
    if let Some(registry) = &shared.registry {
        registry.insert(&shared);
    }
    let session = Session {
        shared: Arc::clone(&shared),
    };
    (session, drive(ws, shared, rx, bulk_rx).instrument(span))
}

/// Runs reader and writer until the session closes, then lingers so the
/// close frame reaches the peer, then stops what is left.
async fn drive(
    ws: Ws,
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Bytes>,
    bulk: mpsc::Receiver<fragment::Piece>,
) {
    use futures_util::StreamExt;

    tracing::debug!("session open");
    let (sink, stream) = ws.split();
    let writer = tokio::spawn(
        writer::run(sink, writer::Queues::new(rx, bulk), Arc::clone(&shared)).in_current_span(),
    );
    let stream = reader::run(stream, &shared).await;
    // The reader returns only once closing started; the writer then sends
    // the close frame (or has failed) and hands the socket back.
    let Ok(sink) = writer.await else {
        tracing::error!("writer task panicked");
        return;
    };
    if let Some(registry) = &shared.registry {
        registry.remove(shared.id);
    }
    if let Ok(ws) = stream.reunite(sink) {
        transport::linger(ws.into_inner(), shared.config.close_timeout).await;
    }
    tracing::debug!("session ended");
}
