//! The writer loop: the only writer of the socket. Each round it gathers
//! what is queued, in priority order, feeds it all to the WebSocket and
//! flushes once, so a burst of frames costs one syscall rather than one each.
//!
//! Order within a round: control frames (credit, cancels), high-priority
//! pushes, replies and calls, one fragment of a large message, low-priority
//! pushes.

use std::{pin::Pin, sync::Arc};

use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, stream::SplitSink};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::WaitForCancellationFuture;

use super::{Shared, fragment::Piece};
use crate::{
    error::CloseReason,
    protocol::close_code,
    transport::{self, Ws},
};

/// Most frames written between two flushes.
const BATCH: usize = 128;

type Sink = SplitSink<Ws, Message>;

/// The writer's own ends of the session's queues.
pub(super) struct Queues {
    normal: mpsc::Receiver<Bytes>,
    bulk: mpsc::Receiver<Piece>,
    /// Frames received from `normal` but not yet written.
    received: Vec<Bytes>,
    /// A fragment received while waiting, written next round.
    piece: Option<Piece>,
}

impl Queues {
    pub(super) fn new(normal: mpsc::Receiver<Bytes>, bulk: mpsc::Receiver<Piece>) -> Self {
        Self {
            normal,
            bulk,
            received: Vec::with_capacity(BATCH),
            piece: None,
        }
    }

    /// Waits until any queue has something, or the session closes (`false`).
    async fn ready(
        &mut self,
        shared: &Shared,
        closing: Pin<&mut WaitForCancellationFuture<'_>>,
    ) -> bool {
        tokio::select! {
            biased;
            () = closing => false,
            // Control frames and both push queues ring this one bell; a
            // stored ring can make a round find nothing, which is harmless.
            () = shared.doorbell.notified() => true,
            received = self.normal.recv_many(&mut self.received, BATCH) => received > 0,
            piece = self.bulk.recv() => {
                self.piece = piece;
                true
            }
        }
    }

    /// Orders up to `BATCH` queued frames (plus control frames) into `batch`.
    fn gather(&mut self, shared: &Shared, batch: &mut Vec<Bytes>) {
        shared.control.drain_into(batch);
        shared.high.drain_into(batch, BATCH);
        while batch.len() + self.received.len() < BATCH {
            match self.normal.try_recv() {
                Ok(frame) => self.received.push(frame),
                Err(_) => break,
            }
        }
        let room = BATCH.saturating_sub(batch.len());
        if self.received.len() > room {
            // Keep the rest for the next round, in order.
            let rest = self.received.split_off(room);
            batch.append(&mut self.received);
            self.received = rest;
        } else {
            batch.append(&mut self.received);
        }
        if let Some(piece) = self.piece.take().or_else(|| self.bulk.try_recv().ok()) {
            batch.push(piece.take());
        }
        let room = BATCH.saturating_sub(batch.len());
        shared.low.drain_into(batch, room);
    }

    /// Whether frames are left for another round: the bell rings once per
    /// wait, not once per frame, so the writer must not wait while any are.
    fn more(&self, shared: &Shared) -> bool {
        !self.received.is_empty() || !shared.high.is_empty() || !shared.low.is_empty()
    }
}

/// Writes until the session closes, then sends the close frame (or, when the
/// peer closed, flushes tungstenite's close reply). Returns the sink so the
/// connection can linger.
pub(super) async fn run(mut sink: Sink, mut queues: Queues, shared: Arc<Shared>) -> Sink {
    let mut batch = Vec::with_capacity(BATCH + 8);
    // Created once: a fresh `cancelled()` per round would lock the token.
    let closing = shared.closing.cancelled();
    tokio::pin!(closing);
    while queues.ready(&shared, closing.as_mut()).await {
        queues.gather(&shared, &mut batch);
        if queues.more(&shared) {
            shared.doorbell.notify_one();
        }
        if batch.is_empty() {
            continue;
        }

        // Most writes complete at once. One that does not is waiting on a
        // peer that reads slowly or not at all: closing must still end it,
        // and a write stalled past the grace closes the session. The timer
        // is armed only then, not on every round.
        let grace = shared.config.slow_consumer_grace;
        let written = {
            let write = write_batch(&mut sink, &mut batch);
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
        match written {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                shared.close(CloseReason::abnormal(format!("write failed: {err}")));
                return sink;
            }
            Err(_) => {
                let reason = format!("peer stopped reading: a write stalled for {grace:?}");
                tracing::warn!(%reason, "slow consumer");
                shared.close(CloseReason::local(close_code::POLICY, reason));
                break;
            }
        }
    }

    let reason = shared.close_reason();
    let finish = async {
        if reason.by_peer {
            sink.flush().await
        } else {
            // What was queued before the close still goes out first.
            queues.gather(&shared, &mut batch);
            write_batch(&mut sink, &mut batch).await?;
            sink.send(transport::close_message(&reason)).await
        }
    };
    if let Ok(Err(err)) = tokio::time::timeout(shared.config.close_timeout, finish).await {
        tracing::debug!(error = %err, "close frame not sent");
    }
    sink
}

async fn write_batch(sink: &mut Sink, batch: &mut Vec<Bytes>) -> Result<(), tungstenite::Error> {
    for frame in batch.drain(..) {
        sink.feed(Message::Binary(frame)).await?;
    }
    sink.flush().await
}
