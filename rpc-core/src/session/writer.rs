//! The writer loop: the only writer of the socket. Each round it gathers
//! what is queued, in priority order (high-priority pushes, then replies and
//! calls, then low-priority pushes), feeds it all to the WebSocket and
//! flushes once, so a burst of frames costs one syscall rather than one each.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, stream::SplitSink};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{self, Message};

use super::Shared;
use crate::{
    error::CloseReason,
    protocol::close_code,
    transport::{self, Ws},
};

/// Most frames written between two flushes.
const BATCH: usize = 128;

type Sink = SplitSink<Ws, Message>;

/// Writes until the session closes, then sends the close frame (or, when the
/// peer closed, flushes tungstenite's close reply). Returns the sink so the
/// connection can linger.
pub(super) async fn run(
    mut sink: Sink,
    mut rx: mpsc::Receiver<Bytes>,
    shared: Arc<Shared>,
) -> Sink {
    let mut normal = Vec::with_capacity(BATCH);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        // Biased: closing first, then the queues in priority order.
        tokio::select! {
            biased;
            () = shared.closing.cancelled() => break,
            () = shared.control.ready() => {}
            () = shared.high.filled() => {}
            received = rx.recv_many(&mut normal, BATCH) => {
                if received == 0 {
                    break;
                }
            }
            () = shared.low.filled() => {}
        }
        gather(&shared, &mut rx, &mut normal, &mut batch);

        // A peer that stops reading blocks this write; closing must still end
        // it, and a write stalled past the grace closes the session.
        let grace = shared.config.slow_consumer_grace;
        let written = tokio::select! {
            biased;
            written = tokio::time::timeout(grace, write_batch(&mut sink, &mut batch)) => written,
            () = shared.closing.cancelled() => break,
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
            gather(&shared, &mut rx, &mut normal, &mut batch);
            write_batch(&mut sink, &mut batch).await?;
            sink.send(transport::close_message(&reason)).await
        }
    };
    if let Ok(Err(err)) = tokio::time::timeout(shared.config.close_timeout, finish).await {
        tracing::debug!(error = %err, "close frame not sent");
    }
    sink
}

/// Orders up to `BATCH` queued frames into `batch`: high-priority pushes,
/// then replies and calls (those already received into `normal` first),
/// then low-priority pushes.
fn gather(
    shared: &Shared,
    rx: &mut mpsc::Receiver<Bytes>,
    normal: &mut Vec<Bytes>,
    batch: &mut Vec<Bytes>,
) {
    // Credit and cancels first: tiny, and the peer's progress waits on them.
    shared.control.drain_into(batch);
    shared.high.drain_into(batch, BATCH);
    while batch.len() + normal.len() < BATCH {
        match rx.try_recv() {
            Ok(frame) => normal.push(frame),
            Err(_) => break,
        }
    }
    let room = BATCH.saturating_sub(batch.len());
    if normal.len() > room {
        // Keep the rest for the next round, in order.
        let rest = normal.split_off(room);
        batch.append(normal);
        *normal = rest;
    } else {
        batch.append(normal);
    }
    let room = BATCH.saturating_sub(batch.len());
    shared.low.drain_into(batch, room);
}

async fn write_batch(sink: &mut Sink, batch: &mut Vec<Bytes>) -> Result<(), tungstenite::Error> {
    for frame in batch.drain(..) {
        sink.feed(Message::Binary(frame)).await?;
    }
    sink.flush().await
}
