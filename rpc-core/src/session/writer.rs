//! The writer loop: the only writer of the socket. It takes every frame
//! already queued, feeds them to the WebSocket and flushes once, so a burst
//! of replies costs one syscall rather than one each.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, stream::SplitSink};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{self, Message};

use super::Shared;
use crate::{
    error::CloseReason,
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
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            biased;
            () = shared.closing.cancelled() => break,
            received = rx.recv_many(&mut batch, BATCH) => {
                if received == 0 {
                    break;
                }
            }
        }
        // A peer that stops reading can block this write forever; closing
        // (shutdown, or a limit crossed by the reader) must still end it.
        let written = tokio::select! {
            biased;
            written = write_batch(&mut sink, &mut batch) => written,
            () = shared.closing.cancelled() => break,
        };
        if let Err(err) = written {
            shared.close(CloseReason::abnormal(format!("write failed: {err}")));
            return sink;
        }
    }

    let reason = shared.close_reason();
    let finish = async {
        if reason.by_peer {
            sink.flush().await
        } else {
            // Answers that completed before the close still go out first.
            while let Ok(frame) = rx.try_recv() {
                batch.push(frame);
            }
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
