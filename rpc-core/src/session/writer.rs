//! Writing to the socket. Whoever writes holds [`Writing`]: the socket's
//! write half and the round being written. Each round gathers what the
//! outbound side holds, in priority order (see
//! [`Drain::gather`](crate::outbound::Drain::gather)), feeds it all to the
//! WebSocket and flushes once, so a burst of messages costs one syscall
//! rather than one each. The budget of a round is given back once it is
//! flushed.
//!
//! The writer task ([`run`]) writes when rung. The reader at the end of a
//! burst (the answers its inline handlers queued), and a caller whose call
//! is the only one in flight, write at once themselves ([`write_now`]) when
//! nobody else is writing and the socket takes it all without waiting: one
//! task hop less per message, which is most of what a small call's round
//! trip cost beyond a hand-written loop's. A write that would wait is left
//! to the writer task, whose timer watches for a peer that stopped reading.

use std::{
    future::poll_fn,
    sync::Arc,
    task::{Context, Poll, ready},
};

use futures_util::{FutureExt, SinkExt, stream::SplitSink};

use super::Shared;
use crate::{
    error::CloseReason,
    error::TransportError,
    metrics::record::{self, PeerEvent},
    outbound::{Drain, Round},
    protocol::close_code,
    transport::{BoxTransport, Outgoing},
};

pub(super) type Sink = SplitSink<BoxTransport, Outgoing>;

/// The socket's write half and the round being written, held by whoever
/// writes.
pub(super) struct Writing {
    /// Taken back by the writer task once the close frame is sent, or
    /// dropped with the session's driver ([`Self::release`]).
    sink: Option<Sink>,
    drain: Drain,
    round: Round,
    /// A round gathered and not yet flushed: the next writer goes on with
    /// it before gathering another.
    open: bool,
    /// Messages of the open round already fed to the sink.
    fed: usize,
}

impl Writing {
    pub(super) fn new(sink: Sink, drain: Drain) -> Self {
        Self {
            sink: Some(sink),
            drain,
            round: Round::default(),
            open: false,
            fed: 0,
        }
    }

    /// Drops the write half: the session's driver is gone.
    pub(super) fn release(&mut self) {
        self.sink = None;
    }

    /// Opens a round unless one is open already; whether there is anything
    /// to write.
    fn prepare(&mut self, shared: &Shared) -> bool {
        if self.open {
            return true;
        }
        self.drain.gather(&shared.outbound, &mut self.round);
        if self.round.messages.is_empty() && !self.round.ping {
            return false;
        }
        if !self.round.messages.is_empty() {
            // Only the idle timeout asks when a message last went out: no
            // clock read per round without one (two per lone call).
            if shared.config.idle_timeout.is_some() {
                shared.liveness.sent();
            }
            // Counted when gathered: a round that fails to write ends the
            // session anyway.
            shared
                .metrics
                .sent(self.round.messages.iter().map(bytes::Bytes::len).sum());
        }
        self.open = true;
        true
    }

    /// Feeds the open round to the sink and flushes it; picks up where an
    /// earlier poll left off.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        let Some(sink) = self.sink.as_mut() else {
            return Poll::Ready(Err(sink_gone()));
        };
        if self.round.ping {
            ready!(sink.poll_ready_unpin(cx))?;
            sink.start_send_unpin(Outgoing::Ping)?;
            self.round.ping = false;
        }
        while let Some(message) = self.round.messages.get_mut(self.fed) {
            ready!(sink.poll_ready_unpin(cx))?;
            sink.start_send_unpin(Outgoing::Binary(std::mem::take(message)))?;
            self.fed += 1;
        }
        ready!(sink.poll_flush_unpin(cx))?;
        self.round.messages.clear();
        self.fed = 0;
        self.open = false;
        Poll::Ready(Ok(()))
    }
}

/// Ends the session after a write to the socket failed.
fn write_failed(shared: &Shared, err: &TransportError) {
    shared.close(CloseReason::abnormal(format!("write failed: {err}")));
}

fn sink_gone() -> TransportError {
    TransportError::closed("the session's socket is gone: its driver ended")
}

/// Writes what is queued from the calling task, if nobody else is writing
/// and the socket takes it without waiting; otherwise (or if more is left)
/// rings the writer task, which goes on from where this stopped.
pub(super) fn write_now(shared: &Shared, cx: &mut Context<'_>) {
    let outbound = &shared.outbound;
    if !outbound.has_queued() {
        return;
    }
    let Some(mut writing) = shared.writing.try_lock() else {
        outbound.ring();
        return;
    };
    // A round left open is waiting on the socket: the writer task's, under
    // its stall timer.
    if writing.open || writing.sink.is_none() {
        drop(writing);
        outbound.ring();
        return;
    }
    if !writing.prepare(shared) {
        return;
    }
    let written = writing.poll_write(cx);
    if written.is_ready() {
        outbound.flushed(&mut writing.round.release);
    }
    let more = writing.drain.more(outbound);
    drop(writing);
    match written {
        Poll::Ready(Ok(())) if !more => {}
        Poll::Ready(Ok(())) | Poll::Pending => outbound.ring(),
        Poll::Ready(Err(err)) => write_failed(shared, &err),
    }
}

/// Writes until the session closes, then sends the close frame (or, when the
/// peer closed, flushes tungstenite's close reply). Returns the sink so the
/// connection can linger.
pub(super) async fn run(shared: Arc<Shared>) -> Option<Sink> {
    let outbound = &shared.outbound;
    let closing = shared.stop_writing.raised();
    tokio::pin!(closing);
    let mut more = false;
    loop {
        if !more {
            tokio::select! {
                biased;
                () = &mut closing => break,
                () = outbound.rung() => {}
            }
            // Woken by the first answer of a burst, the writer would run
            // before the others exist (tokio runs a woken task next) and
            // write one frame per syscall. When more than one request is in
            // flight, yielding once lets the tasks already runnable queue
            // theirs; a lone call or answer is written at once.
            if shared.in_flight() > 1 {
                tokio::task::yield_now().await;
            }
        }
        // Held only for a moment by anyone else: they never wait with it.
        let mut writing = shared.writing.lock().await;
        if !writing.prepare(&shared) {
            more = writing.drain.more(outbound);
            continue;
        }

        // Most writes complete at once. One that does not is waiting on a
        // peer that reads slowly or not at all: closing must still end it,
        // and a write stalled past the grace closes the session. The timer
        // is armed only then, not on every round.
        let grace = shared.config.slow_consumer_grace;
        let written = {
            let write = poll_fn(|cx| writing.poll_write(cx));
            tokio::pin!(write);
            if let Some(done) = write.as_mut().now_or_never() {
                Ok(done)
            } else {
                tokio::select! {
                    biased;
                    written = tokio::time::timeout(grace, write) => written,
                    () = &mut closing => break,
                }
            }
        };
        outbound.flushed(&mut writing.round.release);
        more = writing.drain.more(outbound);
        match written {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                write_failed(&shared, &err);
                return writing.sink.take();
            }
            Err(_) => {
                let reason = format!("peer stopped reading: a write stalled for {grace:?}");
                record::peer_event(PeerEvent::SlowConsumer);
                tracing::warn!(%reason, "slow consumer");
                shared.close(CloseReason::local(close_code::POLICY, reason));
                break;
            }
        }
    }

    let reason = shared.close_reason();
    let mut writing = shared.writing.lock().await;
    let finish = async {
        if reason.by_peer {
            let sink = writing.sink.as_mut().ok_or_else(sink_gone)?;
            sink.flush().await
        } else {
            // What was queued before the close still goes out first.
            writing.prepare(&shared);
            writing.round.ping = false;
            poll_fn(|cx| writing.poll_write(cx)).await?;
            let sink = writing.sink.as_mut().ok_or_else(sink_gone)?;
            sink.send(Outgoing::Close(reason.clone())).await
        }
    };
    if let Ok(Err(err)) = tokio::time::timeout(shared.config.close_timeout, finish).await {
        tracing::debug!(error = %err, "close frame not sent");
    }
    writing.sink.take()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::tests::over_memory;
    use crate::{CallOptions, Error, config::SessionConfig};

    #[tokio::test(start_paused = true)]
    async fn a_lone_call_that_finds_no_room_is_left_to_the_writer_whose_stall_timer_ends_it() {
        let grace = Duration::from_secs(5);
        let config = SessionConfig::default().slow_consumer_grace(grace);
        // Room for one message; the other end never reads.
        let (session, _unread) = over_memory(config, 1);
        let peer = session.peer();

        // A cast fills the connection. The yield lets the writer task (on
        // this current-thread runtime, next in line) write it and use up
        // the ring it got for it, so that nothing rings it afterwards.
        peer.cast("first", &()).await.unwrap();
        tokio::task::yield_now().await;
        // The only call in flight, so its own task writes it, and finds no
        // room: the writer must take the write over, though nothing rings
        // it meanwhile (the call waits far longer than the grace), and its
        // stall timer ends the session once the grace has passed.
        let patient = CallOptions::default().timeout(grace * 10);
        let call =
            tokio::spawn(async move { peer.call_with::<_, ()>("second", &(), patient).await });
        let reason = tokio::time::timeout(grace * 2, session.closed())
            .await
            .expect("closed by the stall timer");
        assert_eq!(
            reason.code,
            crate::protocol::close_code::POLICY,
            "{reason:?}"
        );
        assert!(reason.reason.contains("stopped reading"), "{reason:?}");
        let call = call.await.unwrap();
        assert!(matches!(call, Err(Error::Indeterminate(_))), "{call:?}");
    }
}
