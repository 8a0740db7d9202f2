//! The handles the library records through. Each is made on first use and
//! kept (in a static, a session, a mounted method or a thread's cache), so
//! that recording costs an atomic add, never a lookup by name and labels in
//! the recorder's registry. Without the `metrics` feature the handles are
//! empty and every call here compiles to nothing.

use std::{borrow::Cow, sync::OnceLock};

#[cfg(feature = "metrics")]
use metrics::{Counter, Gauge, Histogram};
#[cfg(not(feature = "metrics"))]
use off::{Counter, Gauge, Histogram};

use super::{OUTCOMES, close_class, outcome_index};
use crate::protocol::ErrorCode;

/// Stand-ins for the facade's handles when the feature is off.
#[cfg(not(feature = "metrics"))]
#[allow(clippy::unused_self)] // reason: the facade's methods take `&self`
mod off {
    #[derive(Clone)]
    pub(super) struct Counter;
    #[derive(Clone)]
    pub(super) struct Gauge;
    #[derive(Clone)]
    pub(super) struct Histogram;

    impl Counter {
        pub(super) fn increment(&self, _: u64) {}
    }

    impl Gauge {
        pub(super) fn increment(&self, _: f64) {}
        pub(super) fn decrement(&self, _: f64) {}
    }

    impl Histogram {
        pub(super) fn record(&self, _: impl Into<f64>) {}
    }
}

/// Labels of a handle: (key, value) pairs.
type Labels<'a> = &'a [(&'static str, Cow<'static, str>)];

#[cfg(feature = "metrics")]
fn to_labels(labels: Labels<'_>) -> Vec<metrics::Label> {
    labels
        .iter()
        .map(|(key, value)| metrics::Label::new(*key, value.clone()))
        .collect()
}

#[cfg(feature = "metrics")]
fn counter(name: &'static str, labels: Labels<'_>) -> Counter {
    metrics::counter!(name, to_labels(labels))
}

#[cfg(feature = "metrics")]
fn gauge(name: &'static str, labels: Labels<'_>) -> Gauge {
    metrics::gauge!(name, to_labels(labels))
}

#[cfg(feature = "metrics")]
fn histogram(name: &'static str, labels: Labels<'_>) -> Histogram {
    metrics::histogram!(name, to_labels(labels))
}

#[cfg(not(feature = "metrics"))]
fn counter(_: &'static str, _: Labels<'_>) -> Counter {
    Counter
}

#[cfg(not(feature = "metrics"))]
fn gauge(_: &'static str, _: Labels<'_>) -> Gauge {
    Gauge
}

#[cfg(not(feature = "metrics"))]
fn histogram(_: &'static str, _: Labels<'_>) -> Histogram {
    Histogram
}

/// One metric with one label of `N` known values: a handle per value, made
/// when first recorded.
struct Family<H, const N: usize> {
    name: &'static str,
    label: &'static str,
    values: [&'static str; N],
    make: fn(&'static str, Labels<'_>) -> H,
    handles: [OnceLock<H>; N],
}

impl<H, const N: usize> Family<H, N> {
    const fn new(
        name: &'static str,
        label: &'static str,
        values: [&'static str; N],
        make: fn(&'static str, Labels<'_>) -> H,
    ) -> Self {
        Self {
            name,
            label,
            values,
            make,
            handles: [const { OnceLock::new() }; N],
        }
    }

    fn get(&self, index: usize) -> &H {
        self.handles[index].get_or_init(|| {
            (self.make)(
                self.name,
                &[(self.label, Cow::Borrowed(self.values[index]))],
            )
        })
    }
}

/// When a timed piece of work started (nothing without the feature). A
/// histogram records it as the seconds since: the clock is read only by a
/// histogram that a recorder stands behind, so timing costs nothing until
/// one is installed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Started {
    #[cfg(feature = "metrics")]
    at: std::time::Instant,
}

impl Started {
    /// Work that started at `at`, a clock read the caller needed anyway.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn at(at: tokio::time::Instant) -> Self {
        Self {
            #[cfg(feature = "metrics")]
            at: at.into_std(),
        }
    }
}

#[cfg(feature = "metrics")]
impl metrics::IntoF64 for Started {
    fn into_f64(self) -> f64 {
        self.at.elapsed().as_secs_f64()
    }
}

#[cfg(not(feature = "metrics"))]
impl From<Started> for f64 {
    fn from(_: Started) -> Self {
        0.0
    }
}

/// Which end of a connection a session is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Side {
    Server = 0,
    Client = 1,
}

const SIDES: [&str; 2] = ["server", "client"];

static OPEN: Family<Gauge, 2> = Family::new(super::SESSIONS_OPEN, "side", SIDES, gauge);
static OPENED: Family<Counter, 2> = Family::new(super::SESSIONS_OPENED, "side", SIDES, counter);
static RECEIVED: Family<Counter, 2> = Family::new(super::BYTES_RECEIVED, "side", SIDES, counter);
static SENT: Family<Counter, 2> = Family::new(super::BYTES_SENT, "side", SIDES, counter);

/// A session's handles: its bytes in and out, and its end.
pub(crate) struct SessionMetrics {
    side: Side,
    received: Counter,
    sent: Counter,
}

impl SessionMetrics {
    /// Counts a session that started, and holds its handles.
    pub(crate) fn opened(side: Side) -> (Self, OpenSession) {
        OPENED.get(side as usize).increment(1);
        let open = OPEN.get(side as usize).clone();
        open.increment(1.0);
        let metrics = Self {
            side,
            received: RECEIVED.get(side as usize).clone(),
            sent: SENT.get(side as usize).clone(),
        };
        (metrics, OpenSession(open))
    }

    /// A WebSocket message of `bytes` arrived.
    pub(crate) fn received(&self, bytes: usize) {
        self.received.increment(bytes as u64);
    }

    /// Messages of `bytes` in all were written.
    pub(crate) fn sent(&self, bytes: usize) {
        self.sent.increment(bytes as u64);
    }

    /// The session started closing with `code`; once per session. A
    /// lookup by labels, but once per session, not per message.
    pub(crate) fn closed(&self, code: u16, by_peer: bool) {
        let by = if by_peer { "peer" } else { "local" };
        counter(
            super::SESSIONS_CLOSED,
            &[
                ("side", Cow::Borrowed(SIDES[self.side as usize])),
                ("close", Cow::Borrowed(close_class(code))),
                ("by", Cow::Borrowed(by)),
            ],
        )
        .increment(1);
    }
}

/// Counts a session as open while it lives: the task that drives the
/// session holds it, so a session dropped mid-way still leaves the gauge.
pub(crate) struct OpenSession(Gauge);

impl Drop for OpenSession {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// The handles of one mounted method (or of every name no router serves,
/// [`UNKNOWN_METHOD`]): made when first recorded, so that a method never
/// called and an outcome never seen add no series.
pub(crate) struct Served {
    method: Cow<'static, str>,
    outcomes: [OnceLock<Counter>; OUTCOMES.len()],
    seconds: OnceLock<Histogram>,
}

/// Requests for a name no router on this side serves: one label value, so
/// that a peer cannot add series by making names up.
pub(crate) static UNKNOWN_METHOD: Served = Served::named(Cow::Borrowed("unknown"));

impl Served {
    pub(crate) fn new(method: Cow<'static, str>) -> Self {
        Self::named(method)
    }

    const fn named(method: Cow<'static, str>) -> Self {
        Self {
            method,
            outcomes: [const { OnceLock::new() }; OUTCOMES.len()],
            seconds: OnceLock::new(),
        }
    }

    fn outcome(&self, code: Option<ErrorCode>) -> &Counter {
        let index = outcome_index(code);
        self.outcomes[index].get_or_init(|| {
            counter(
                super::CALLS_SERVED,
                &[
                    ("method", self.method.clone()),
                    ("outcome", Cow::Borrowed(OUTCOMES[index])),
                ],
            )
        })
    }

    /// A handler admitted at `started` ended: with `code`, or `None` when
    /// it succeeded.
    pub(crate) fn ended(&self, code: Option<ErrorCode>, started: Started) {
        self.outcome(code).increment(1);
        self.seconds
            .get_or_init(|| histogram(super::HANDLER_SECONDS, &[("method", self.method.clone())]))
            .record(started);
    }

    /// A request refused before a handler ran.
    pub(crate) fn refused(&self, code: ErrorCode) {
        self.outcome(Some(code)).increment(1);
    }
}

/// Why a request or an answer was refused with an error frame.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Refusal {
    ShuttingDown = 0,
    RateLimited = 1,
    UnknownMethod = 2,
    UnknownTopic = 3,
    InFlight = 4,
    InboundBudget = 5,
    Operation = 6,
    AnswerOverBudget = 7,
    AnswerTooLarge = 8,
}

static REFUSALS: Family<Counter, 9> = Family::new(
    super::REFUSALS,
    "reason",
    [
        "shutting-down",
        "rate-limited",
        "unknown-method",
        "unknown-topic",
        "in-flight",
        "inbound-budget",
        "operation",
        "answer-over-budget",
        "answer-too-large",
    ],
    counter,
);

pub(crate) fn refused(reason: Refusal) {
    REFUSALS.get(reason as usize).increment(1);
}

/// Peer-driven events logged at WARN (bounded), counted each.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PeerEvent {
    PeerError = 0,
    CastFailed = 1,
    MalformedInput = 2,
    SlowConsumer = 3,
}

static PEER_EVENTS: Family<Counter, 4> = Family::new(
    super::PEER_EVENTS,
    "event",
    [
        "peer-error",
        "cast-failed",
        "malformed-input",
        "slow-consumer",
    ],
    counter,
);

pub(crate) fn peer_event(event: PeerEvent) {
    PEER_EVENTS.get(event as usize).increment(1);
}

/// Why a push was not delivered.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Undelivered {
    Full = 0,
    Evicted = 1,
    Closed = 2,
    RateLimited = 3,
    TooLarge = 4,
    UnknownTopic = 5,
    BusUnavailable = 6,
    BusFull = 7,
}

static UNDELIVERED: Family<Counter, 8> = Family::new(
    super::PUSHES_UNDELIVERED,
    "reason",
    [
        "full",
        "evicted",
        "closed",
        "rate-limited",
        "too-large",
        "unknown-topic",
        "bus-unavailable",
        "bus-full",
    ],
    counter,
);

pub(crate) fn undelivered(reason: Undelivered) {
    UNDELIVERED.get(reason as usize).increment(1);
}

static DEAD_LETTERS_LOST: OnceLock<Counter> = OnceLock::new();

pub(crate) fn dead_letter_lost() {
    DEAD_LETTERS_LOST
        .get_or_init(|| counter(super::DEAD_LETTERS_LOST, &[]))
        .increment(1);
}

/// Why a server dropped a connection before it became a session.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ConnectionRefusal {
    ConnectionLimit = 0,
    HandshakeTimeout = 1,
    UpgradeRefused = 2,
    HandshakeFailed = 3,
}

static CONNECTIONS_REFUSED: Family<Counter, 4> = Family::new(
    super::CONNECTIONS_REFUSED,
    "reason",
    [
        "connection-limit",
        "handshake-timeout",
        "upgrade-refused",
        "handshake-failed",
    ],
    counter,
);

pub(crate) fn connection_refused(reason: ConnectionRefusal) {
    CONNECTIONS_REFUSED.get(reason as usize).increment(1);
}

/// How a reconnecting client's attempt went.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Attempt {
    Connected = 0,
    Failed = 1,
    HookFailed = 2,
}

static ATTEMPTS: Family<Counter, 3> = Family::new(
    super::RECONNECT_ATTEMPTS,
    "outcome",
    ["connected", "failed", "hook-failed"],
    counter,
);

pub(crate) fn reconnect_attempt(attempt: Attempt) {
    ATTEMPTS.get(attempt as usize).increment(1);
}

static DISCONNECTS: OnceLock<Counter> = OnceLock::new();

pub(crate) fn reconnect_disconnect() {
    DISCONNECTS
        .get_or_init(|| counter(super::RECONNECT_DISCONNECTS, &[]))
        .increment(1);
}

#[cfg(feature = "metrics")]
pub(crate) use made::call_made;

/// Without the feature, not even the cache lookup.
#[cfg(not(feature = "metrics"))]
pub(crate) fn call_made(_: &str, _: Result<(), &'static str>, _: Started) {}

/// Calls this side makes, by the method name its code passed: a per-thread
/// cache of handles by name, so that a call takes no lock and no registry
/// lookup, only a hash of the name.
#[cfg(feature = "metrics")]
mod made {
    use std::{borrow::Cow, cell::RefCell};

    use rustc_hash::FxHashMap;

    use super::{Counter, Histogram, Started, counter, histogram};

    /// Names a thread keeps handles for; calls to further names count as
    /// `other`, so that code that makes names up cannot add series without
    /// bound.
    const MAX_METHODS: usize = 256;

    struct Made {
        ok: Counter,
        failed: Vec<(&'static str, Counter)>,
        seconds: Histogram,
        method: Cow<'static, str>,
    }

    impl Made {
        fn new(method: Cow<'static, str>) -> Self {
            Self {
                ok: outcome(method.clone(), "ok"),
                failed: Vec::new(),
                seconds: histogram(super::super::CALL_SECONDS, &[("method", method.clone())]),
                method,
            }
        }

        fn record(&mut self, outcome_: Result<(), &'static str>, started: Started) {
            match outcome_ {
                Ok(()) => self.ok.increment(1),
                Err(kind) => {
                    if let Some((_, failed)) = self.failed.iter().find(|(k, _)| *k == kind) {
                        failed.increment(1);
                    } else {
                        let failed = outcome(self.method.clone(), kind);
                        failed.increment(1);
                        self.failed.push((kind, failed));
                    }
                }
            }
            self.seconds.record(started);
        }
    }

    fn outcome(method: Cow<'static, str>, outcome: &'static str) -> Counter {
        counter(
            super::super::CALLS_MADE,
            &[("method", method), ("outcome", Cow::Borrowed(outcome))],
        )
    }

    thread_local! {
        /// Keyed by names this side's code passes, never the peer's: the
        /// fast unkeyed hash is safe, and `SipHash` was most of the lookup.
        static MADE: RefCell<FxHashMap<Box<str>, Made>> = RefCell::new(FxHashMap::default());
    }

    /// A call to `method` started at `started` ended: `Ok`, or `Err` with
    /// its [`Error::kind`](crate::Error::kind).
    pub(crate) fn call_made(method: &str, outcome: Result<(), &'static str>, started: Started) {
        // A call from a thread-local destructor finds the cache gone: not
        // counted.
        let _ = MADE.try_with(|made| {
            let mut made = made.borrow_mut();
            if let Some(handles) = made.get_mut(method) {
                return handles.record(outcome, started);
            }
            let name = if made.len() < MAX_METHODS {
                method
            } else {
                "other"
            };
            made.entry(name.into())
                .or_insert_with(|| Made::new(Cow::Owned(name.to_owned())))
                .record(outcome, started);
        });
    }
}
