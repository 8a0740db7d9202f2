//! The limits and timeouts of one session, the same on both sides.

use std::{sync::Arc, time::Duration};

use super::{ConfigError, require};
use crate::{rate::RateLimit, recording::Recording};

/// Limits and timeouts of one session, the same on both sides.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Largest message accepted, in bytes. A WebSocket frame header announcing
    /// more is refused before its payload is read, and the connection closes
    /// with 1009. Default: 16 MiB.
    pub max_message_size: usize,
    /// Calls and casts from the peer that run at once. A call over the limit
    /// is answered `busy` at once; a cast over it is refused with an error
    /// frame of id 0. Default: 256.
    pub max_in_flight: usize,
    /// Calls and streams of this side that wait for a free slot of the
    /// peer's `max_in_flight` (announced in its handshake): a call over the
    /// peer's limit waits here, within its timeout, instead of being sent
    /// to be refused `busy`; past this many waiting, a call fails at once
    /// with [`Error::QueueFull`](crate::Error::QueueFull). Casts are not
    /// held back (no answer says when they end). Default: 1024.
    pub max_queued_calls: usize,
    /// Bytes of requests (calls, casts, streams: arguments and headers) the
    /// peer's running handlers hold at once; a request that would pass it is answered
    /// `busy` (a cast's refusal has id 0). A request larger than the budget
    /// runs when nothing else is held. Default: 64 MiB.
    pub inbound_budget: usize,
    /// How long a call waits for its answer unless the call sets its own
    /// timeout. Default: 30 s.
    pub call_timeout: Duration,
    /// Deadline for handlers of methods that set none; `None` lets them run
    /// until the caller cancels or the session ends. Default: `None`.
    pub handler_timeout: Option<Duration>,
    /// Bytes queued for the peer at most, over every priority: calls,
    /// answers, stream frames and pushes hold their bytes (plus 64 for
    /// bookkeeping) from being queued until written. Messages sent whole
    /// and messages sent in fragments each have this budget, so a large
    /// transfer never holds back small calls and answers. Senders that can
    /// wait wait for room; `try_push` and broadcast report `Full`; a
    /// finished handler's answer that does not fit is replaced by a `busy`
    /// error, so a peer that stops reading pins at most twice this much. A
    /// message larger than the budget goes when no other of its kind is
    /// queued. Default: 16 MiB.
    pub outbound_budget: usize,
    /// Refusals (error frames the reader sends for requests it refuses)
    /// queued at most; a peer that keeps sending refused requests without
    /// reading overflows it and is closed with 1008. Default: 64.
    pub refusal_lane: usize,
    /// How long a session hears nothing from its peer before it sends a
    /// WebSocket ping; `None` sends none. Default: 20 s.
    pub ping_interval: Option<Duration>,
    /// How long after a ping a session waits for anything from the peer
    /// before it closes with 1001. Default: 20 s.
    pub pong_timeout: Duration,
    /// Idle time before the kernel probes a quiet TCP connection (TCP
    /// keepalive, then every quarter of it, 4 probes); `None` leaves
    /// keepalive off. Default: 60 s.
    pub tcp_keepalive: Option<Duration>,
    /// How long no message may flow either way (pings and pongs do not
    /// count) before the session closes with 1001; `None` never. Default:
    /// `None`.
    pub idle_timeout: Option<Duration>,
    /// How long a closing session waits for the peer's close frame before
    /// dropping the connection. Default: 2 s.
    pub close_timeout: Duration,
    /// Size of the WebSocket read buffer, in bytes: its initial capacity
    /// (it grows to hold the message being read) and the most one read
    /// takes from the socket. Small keeps idle connections cheap: each
    /// connection holds it whole. Default: 4 KiB (docs/performance.md,
    /// round 3, says why, and why reads do not grow for large messages).
    pub read_buffer_size: usize,
    /// Pushes queued per priority before `push` waits and `try_push` fails
    /// with `Full`. Default: 1024.
    pub push_queue: usize,
    /// How long one write may stay blocked by a peer that does not read
    /// before the session is closed with 1008. Default: 30 s.
    pub slow_consumer_grace: Duration,
    /// Calls and casts accepted from the peer per second, with bursts; over
    /// it a call is answered `busy`. `None` turns rate limiting off.
    /// Default: `None`.
    pub inbound_rate: Option<RateLimit>,
    /// Requests refused in a row by the rate limit before the session is
    /// closed with 1008 as abusive. Default: 100.
    pub max_rate_refusals: u32,
    /// Items of a stream the sender may have in flight before the receiver
    /// grants more (credit-based flow control). Default: 32.
    pub stream_window: u32,
    /// Longest wait for a stream's next item before the receiver gives up
    /// with a timeout error; `None` waits as long as the session lives.
    /// Default: `None`.
    pub stream_idle_timeout: Option<Duration>,
    /// Messages longer than this many bytes are sent in fragments of this
    /// size, interleaved with other frames. Default: 64 KiB.
    pub fragment_size: usize,
    /// Bytes of fragmented messages the receiver holds at once while they
    /// arrive, announced in the handshake so the peer stays within it; more
    /// closes the session with 1009. Default: 32 MiB.
    pub max_reassembly: usize,
    /// Fragmented messages the receiver holds at once while they arrive,
    /// announced in the handshake; more closes the session with 1009.
    /// Default: 16.
    pub max_partials: usize,
    /// Time from a fragmented message's first piece to its last; slower
    /// closes the session with 1008. Default: 30 s.
    pub reassembly_timeout: Duration,
    /// Tags (`key=value` pairs, counting each value of a key) one session
    /// holds at most; [`Session::join`](crate::Session::join) and
    /// [`Session::tag`](crate::Session::tag) past it fail with
    /// [`TagError::TooMany`](crate::TagError::TooMany). Handlers often tag
    /// with what the peer sent (a room name), so this bounds what a peer
    /// can make the server keep, in the session and in the registry's
    /// indexes. Default: 64.
    pub max_tags: usize,
    /// Bytes of one tag's key and value together at most; longer fails with
    /// [`TagError::TooLong`](crate::TagError::TooLong). Default: 256.
    pub max_tag_len: usize,
    /// Records every message of the session, both ways, to a file of
    /// JSON Lines (see [`Recording`] and `docs/recording.md`); `None`
    /// records nothing. Shared, so that the sessions of a server clone it
    /// for nothing. Default: `None`.
    pub record: Option<Arc<Recording>>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            max_message_size: 16 << 20,
            max_in_flight: 256,
            max_queued_calls: 1024,
            inbound_budget: 64 << 20,
            call_timeout: Duration::from_secs(30),
            handler_timeout: None,
            outbound_budget: 16 << 20,
            refusal_lane: 64,
            ping_interval: Some(Duration::from_secs(20)),
            pong_timeout: Duration::from_secs(20),
            tcp_keepalive: Some(Duration::from_secs(60)),
            idle_timeout: None,
            close_timeout: Duration::from_secs(2),
            read_buffer_size: 4 << 10,
            push_queue: 1024,
            slow_consumer_grace: Duration::from_secs(30),
            inbound_rate: None,
            max_rate_refusals: 100,
            stream_window: 32,
            stream_idle_timeout: None,
            fragment_size: 64 << 10,
            max_reassembly: 32 << 20,
            max_partials: 16,
            reassembly_timeout: Duration::from_secs(30),
            max_tags: 64,
            max_tag_len: 256,
            record: None,
        }
    }
}

impl SessionConfig {
    /// Sets [`max_message_size`](Self::max_message_size).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets [`max_in_flight`](Self::max_in_flight).
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight = calls;
        self
    }

    /// Sets [`max_queued_calls`](Self::max_queued_calls) (0: fail at once
    /// when the peer's limit is taken).
    pub fn max_queued_calls(mut self, calls: usize) -> Self {
        self.max_queued_calls = calls;
        self
    }

    /// Sets [`inbound_budget`](Self::inbound_budget).
    pub fn inbound_budget(mut self, bytes: usize) -> Self {
        self.inbound_budget = bytes;
        self
    }

    /// Sets [`call_timeout`](Self::call_timeout).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Sets [`handler_timeout`](Self::handler_timeout).
    pub fn handler_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.handler_timeout = timeout;
        self
    }

    /// Sets [`outbound_budget`](Self::outbound_budget).
    pub fn outbound_budget(mut self, bytes: usize) -> Self {
        self.outbound_budget = bytes;
        self
    }

    /// Sets [`refusal_lane`](Self::refusal_lane).
    pub fn refusal_lane(mut self, refusals: usize) -> Self {
        self.refusal_lane = refusals;
        self
    }

    /// Sets [`ping_interval`](Self::ping_interval).
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets [`pong_timeout`](Self::pong_timeout).
    pub fn pong_timeout(mut self, timeout: Duration) -> Self {
        self.pong_timeout = timeout;
        self
    }

    /// Sets [`tcp_keepalive`](Self::tcp_keepalive).
    pub fn tcp_keepalive(mut self, idle: Option<Duration>) -> Self {
        self.tcp_keepalive = idle;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`max_partials`](Self::max_partials).
    pub fn max_partials(mut self, messages: usize) -> Self {
        self.max_partials = messages;
        self
    }

    /// Sets [`close_timeout`](Self::close_timeout).
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Sets [`read_buffer_size`](Self::read_buffer_size).
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        self.read_buffer_size = bytes;
        self
    }

    /// Sets [`push_queue`](Self::push_queue).
    pub fn push_queue(mut self, frames: usize) -> Self {
        self.push_queue = frames;
        self
    }

    /// Sets [`slow_consumer_grace`](Self::slow_consumer_grace).
    pub fn slow_consumer_grace(mut self, grace: Duration) -> Self {
        self.slow_consumer_grace = grace;
        self
    }

    /// Sets [`inbound_rate`](Self::inbound_rate).
    pub fn inbound_rate(mut self, limit: Option<RateLimit>) -> Self {
        self.inbound_rate = limit;
        self
    }

    /// Sets [`max_rate_refusals`](Self::max_rate_refusals).
    pub fn max_rate_refusals(mut self, refusals: u32) -> Self {
        self.max_rate_refusals = refusals;
        self
    }

    /// Sets [`stream_window`](Self::stream_window).
    pub fn stream_window(mut self, items: u32) -> Self {
        self.stream_window = items;
        self
    }

    /// Sets [`stream_idle_timeout`](Self::stream_idle_timeout).
    pub fn stream_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.stream_idle_timeout = timeout;
        self
    }

    /// Sets [`fragment_size`](Self::fragment_size).
    pub fn fragment_size(mut self, bytes: usize) -> Self {
        self.fragment_size = bytes;
        self
    }

    /// Sets [`max_reassembly`](Self::max_reassembly).
    pub fn max_reassembly(mut self, bytes: usize) -> Self {
        self.max_reassembly = bytes;
        self
    }

    /// Sets [`reassembly_timeout`](Self::reassembly_timeout).
    pub fn reassembly_timeout(mut self, timeout: Duration) -> Self {
        self.reassembly_timeout = timeout;
        self
    }

    /// Sets [`max_tags`](Self::max_tags).
    pub fn max_tags(mut self, tags: usize) -> Self {
        self.max_tags = tags;
        self
    }

    /// Sets [`max_tag_len`](Self::max_tag_len).
    pub fn max_tag_len(mut self, bytes: usize) -> Self {
        self.max_tag_len = bytes;
        self
    }

    /// Sets [`record`](Self::record).
    pub fn record(mut self, recording: Option<Recording>) -> Self {
        self.record = recording.map(Arc::new);
        self
    }

    /// Checks that every limit can be met.
    ///
    /// # Errors
    ///
    /// Names the first field whose value cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        require(
            self.max_message_size >= 64,
            "max_message_size",
            "must be at least 64 bytes",
        )?;
        require(
            u32::try_from(self.max_message_size).is_ok(),
            "max_message_size",
            "must fit in 32 bits",
        )?;
        require(
            self.max_in_flight > 0,
            "max_in_flight",
            "must be at least 1",
        )?;
        require(
            u32::try_from(self.max_in_flight).is_ok(),
            "max_in_flight",
            "must fit in 32 bits",
        )?;
        require(
            self.inbound_budget > 0,
            "inbound_budget",
            "must be at least 1 byte",
        )?;
        require(
            !self.call_timeout.is_zero(),
            "call_timeout",
            "must be positive",
        )?;
        require(
            self.outbound_budget > 0,
            "outbound_budget",
            "must be at least 1 byte",
        )?;
        require(self.refusal_lane > 0, "refusal_lane", "must be at least 1")?;
        require(
            self.ping_interval.is_none_or(|i| !i.is_zero()),
            "ping_interval",
            "must be positive",
        )?;
        require(
            !self.pong_timeout.is_zero(),
            "pong_timeout",
            "must be positive",
        )?;
        require(
            self.tcp_keepalive
                .is_none_or(|t| t >= Duration::from_secs(1)),
            "tcp_keepalive",
            "must be at least 1 s",
        )?;
        require(
            self.idle_timeout.is_none_or(|t| !t.is_zero()),
            "idle_timeout",
            "must be positive",
        )?;
        require(self.max_partials > 0, "max_partials", "must be at least 1")?;
        require(
            u32::try_from(self.max_partials).is_ok() && u32::try_from(self.max_reassembly).is_ok(),
            "max_reassembly",
            "must fit in 32 bits, as must max_partials",
        )?;
        require(
            self.read_buffer_size > 0,
            "read_buffer_size",
            "must be at least 1",
        )?;
        require(self.push_queue > 0, "push_queue", "must be at least 1")?;
        require(
            self.stream_window > 0,
            "stream_window",
            "must be at least 1",
        )?;
        require(
            self.fragment_size >= 256,
            "fragment_size",
            "must be at least 256 bytes",
        )?;
        require(
            !self.reassembly_timeout.is_zero(),
            "reassembly_timeout",
            "must be positive",
        )?;
        require(
            self.max_reassembly >= self.max_message_size,
            "max_reassembly",
            "must hold at least one message of max_message_size",
        )?;
        require(
            !self.slow_consumer_grace.is_zero(),
            "slow_consumer_grace",
            "must be positive",
        )?;
        require(
            self.inbound_rate
                .is_none_or(|r| r.per_second > 0 && r.burst > 0),
            "inbound_rate",
            "needs a positive rate and burst",
        )
    }
}
