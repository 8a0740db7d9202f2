//! Heartbeats: a session that hears nothing from its peer for a ping
//! interval sends a WebSocket ping, and closes with 1001 when nothing at all
//! arrives within the pong timeout after it; an optional idle timeout closes
//! a session through which no message has flowed either way for that long.
//! Any message from the peer counts as a sign of life, not only pongs, so a
//! busy connection sends no pings at all.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use tokio::time::Instant;

use super::Shared;
use crate::{error::CloseReason, protocol::close_code};

/// When the peer was last heard and when the last message flowed, as
/// milliseconds since the session started (atomics: the reader and writer
/// touch them per message).
#[derive(Debug)]
pub(crate) struct Liveness {
    epoch: Instant,
    heard: AtomicU64,
    active: AtomicU64,
}

impl Liveness {
    pub(crate) fn new() -> Self {
        Self {
            epoch: Instant::now(),
            heard: AtomicU64::new(0),
            active: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, millis: u64) -> Instant {
        self.epoch + Duration::from_millis(millis)
    }

    /// Anything arrived from the peer, a pong included.
    pub(crate) fn heard(&self) {
        self.heard.store(self.now(), Ordering::Relaxed);
    }

    /// A protocol message arrived at `at`: the connection is in use.
    pub(crate) fn received(&self, at: Instant) {
        let now =
            u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX);
        self.heard.store(now, Ordering::Relaxed);
        self.active.store(now, Ordering::Relaxed);
    }

    /// A protocol message went out.
    pub(crate) fn sent(&self) {
        self.active.store(self.now(), Ordering::Relaxed);
    }
}

/// Runs the heartbeat, the idle timeout, the timer of this side's calls
/// and, on a server, the graceful shutdown, until one closes the session;
/// runs beside the reader, which it ends with (it does not wait on the
/// reader's signal: a [`Signal`](crate::signal::Signal) wakes one waker).
pub(crate) async fn run(shared: &Shared) {
    let config = &shared.config;
    tokio::select! {
        biased;
        () = shared.drain_on_shutdown() => {}
        reason = heartbeat(shared, config.ping_interval, config.pong_timeout) => shared.close(reason),
        reason = idle(shared, config.idle_timeout) => shared.close(reason),
        never = shared.pending.watch_deadlines(|id| {
            tracing::debug!(id, "call timed out; cancelling it at the peer");
            shared.control().cancel(id);
        }) => match never {},
    }
}

async fn heartbeat(shared: &Shared, interval: Option<Duration>, timeout: Duration) -> CloseReason {
    let Some(interval) = interval else {
        return std::future::pending().await;
    };
    let liveness = &shared.liveness;
    loop {
        let heard = liveness.heard.load(Ordering::Relaxed);
        tokio::time::sleep_until(liveness.at(heard) + interval).await;
        if liveness.heard.load(Ordering::Relaxed) != heard {
            continue;
        }
        let pinged = liveness.now();
        shared.outbound.control.ping();
        tokio::time::sleep_until(liveness.at(pinged) + timeout).await;
        if liveness.heard.load(Ordering::Relaxed) < pinged {
            return CloseReason::local(
                close_code::GOING_AWAY,
                format!("no pong within {timeout:?} of a ping"),
            );
        }
    }
}

async fn idle(shared: &Shared, timeout: Option<Duration>) -> CloseReason {
    let Some(timeout) = timeout else {
        return std::future::pending().await;
    };
    let liveness = &shared.liveness;
    loop {
        let active = liveness.active.load(Ordering::Relaxed);
        tokio::time::sleep_until(liveness.at(active) + timeout).await;
        if liveness.active.load(Ordering::Relaxed) == active {
            return CloseReason::local(close_code::GOING_AWAY, format!("idle for {timeout:?}"));
        }
    }
}
