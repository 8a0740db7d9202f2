//! The writer loop: the only writer of the socket. Each round it gathers
//! what the outbound side holds, in priority order (see
//! [`Drain::gather`](crate::outbound::Drain::gather)), feeds it all to the
//! WebSocket and flushes once, so a burst of messages costs one syscall
//! rather than one each. The budget of a round is given back once it is
//! flushed.

use std::sync::Arc;

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

type Sink = SplitSink<BoxTransport, Outgoing>;

/// Writes until the session closes, then sends the close frame (or, when the
/// peer closed, flushes tungstenite's close reply). Returns the sink so the
/// connection can linger.
pub(super) async fn run(mut sink: Sink, mut drain: Drain, shared: Arc<Shared>) -> Sink {
    let outbound = &shared.outbound;
    let mut round = Round::default();
    let closing = shared.stop_writing.raised();
    tokio::pin!(closing);
    loop {
        if !drain.more(outbound) {
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
        drain.gather(outbound, &mut round);
        if round.messages.is_empty() && !round.ping {
            continue;
        }
        if !round.messages.is_empty() {
            shared.liveness.sent();
            // Counted when gathered: a round that fails to write ends the
            // session anyway.
            shared
                .metrics
                .sent(round.messages.iter().map(bytes::Bytes::len).sum());
        }

        // Most writes complete at once. One that does not is waiting on a
        // peer that reads slowly or not at all: closing must still end it,
        // and a write stalled past the grace closes the session. The timer
        // is armed only then, not on every round.
        let grace = shared.config.slow_consumer_grace;
        let written = {
            let write = write_round(&mut sink, &mut round);
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
        outbound.flushed(&mut round.release);
        match written {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                shared.close(CloseReason::abnormal(format!("write failed: {err}")));
                return sink;
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
    let finish = async {
        if reason.by_peer {
            sink.flush().await
        } else {
            // What was queued before the close still goes out first.
            drain.gather(outbound, &mut round);
            round.ping = false;
            write_round(&mut sink, &mut round).await?;
            sink.send(Outgoing::Close(reason.clone())).await
        }
    };
    if let Ok(Err(err)) = tokio::time::timeout(shared.config.close_timeout, finish).await {
        tracing::debug!(error = %err, "close frame not sent");
    }
    sink
}

async fn write_round(sink: &mut Sink, round: &mut Round) -> Result<(), TransportError> {
    if std::mem::take(&mut round.ping) {
        sink.feed(Outgoing::Ping).await?;
    }
    for message in round.messages.drain(..) {
        sink.feed(Outgoing::Binary(message)).await?;
    }
    sink.flush().await
}
