//! The reader loop: decodes each message and routes it. Handlers run on
//! the session's handler pool; only those of inline methods get their first
//! poll here ([`Router::runs_inline`](crate::Router::runs_inline)).

use std::{sync::Arc, task::Poll};

use bytes::Bytes;
use futures_util::{StreamExt, stream::SplitStream};

use tokio::time::Instant;

use super::{
    Shared, inbound,
    liveness::Liveness,
    pending::Answer,
    reassembly::{self, Reassembly},
    streams::{self, Event, Violation},
    writer,
};
use crate::{
    codec::{self, Decoded},
    error::{CloseReason, RemoteError},
    metrics::record::{self, PeerEvent, Undelivered},
    protocol::{
        CONNECTION_ERROR_ID, Described, ErrorCode, ErrorFrame, Frame, StreamRef, close_code,
    },
    stream::StreamError,
    text::Clipped,
    transport::{self, BoxTransport, Received},
};

/// Reads until the session closes; returns the stream for lingering.
pub(super) async fn run(
    mut stream: SplitStream<BoxTransport>,
    shared: &Arc<Shared>,
) -> SplitStream<BoxTransport> {
    let config = &shared.config;
    let mut reassembly = Reassembly::new(reassembly::Limits {
        max_message: config.max_message_size,
        max_total: config.max_reassembly,
        max_partials: config.max_partials,
        timeout: config.reassembly_timeout,
    });
    // Polled only when no message is ready; the check before each message
    // sees a close at once.
    let closing = shared.stop_reading.raised();
    tokio::pin!(closing);
    let mut clock = BurstClock::new();
    // Handling messages read without waiting in between: answers queued
    // meanwhile are written at the burst's end, by the reader itself.
    let mut bursting = false;
    // Messages of the burst read since its answers were last written.
    let mut in_burst = 0;
    loop {
        if shared.is_closing() {
            break;
        }
        // A sleep only while a fragmented message is being put together.
        let expiry = until(reassembly.deadline());
        tokio::pin!(expiry);
        // Whether this message had to be waited for, rather than being
        // ready with the ones before it.
        let mut waited = false;
        // The stream first; the close signal and the reassembly's deadline
        // only once it has nothing (a `select!` cost every message its
        // set-up and a budget check).
        let wake = std::future::poll_fn(|cx| {
            let polled = stream.poll_next_unpin(cx);
            if let Poll::Ready(next) = polled {
                if !bursting {
                    shared.outbound.burst_begins();
                    in_burst = 0;
                } else if in_burst == BURST_WRITE_EVERY {
                    // A long burst writes as it goes.
                    writer::write_now(shared, cx);
                    in_burst = 0;
                }
                in_burst += 1;
                bursting = true;
                return Poll::Ready(Wake::Next(next));
            }
            // The burst is over: its answers go out in one write.
            if bursting {
                shared.outbound.burst_ends();
                writer::write_now(shared, cx);
            }
            bursting = false;
            waited = true;
            if closing.as_mut().poll(cx).is_ready() {
                Poll::Ready(Wake::Closing)
            } else if expiry.as_mut().poll(cx).is_ready() {
                Poll::Ready(Wake::Expired)
            } else {
                Poll::Pending
            }
        })
        .await;
        let next = match wake {
            Wake::Next(next) => next,
            Wake::Closing => break,
            Wake::Expired => {
                shared.close(reassembly.expired());
                break;
            }
        };
        let next = next.unwrap_or_else(|| {
            Received::End(CloseReason::abnormal(
                "connection ended without a close frame",
            ))
        });
        let outcome = match next {
            Received::Binary(bytes) => {
                let now = clock.read(waited, &shared.liveness);
                shared.metrics.received(bytes.len());
                on_message(shared, &mut reassembly, &bytes, now)
            }
            // Pings and pongs: any of them is a sign of life.
            Received::Nothing => {
                shared.liveness.heard();
                Ok(())
            }
            Received::End(reason) => Err(reason),
        };
        if let Err(reason) = outcome {
            if !reason.by_peer {
                record::peer_event(PeerEvent::MalformedInput);
                tracing::warn!(code = reason.code, reason = %reason.reason, "input refused");
            }
            shared.close(reason);
            break;
        }
    }
    if bursting {
        shared.outbound.burst_ends();
        shared.outbound.ring();
    }
    stream
}

/// The reader's clock: the messages of one burst (read without waiting in
/// between) share a reading, which is when the peer was last heard and when
/// the burst's requests were admitted (their handlers' deadlines and
/// metrics count from it). One clock read per message was the largest item
/// of its kind in a profile of small calls; liveness counts in
/// milliseconds, and a burst is read in microseconds.
struct BurstClock {
    at: Instant,
    /// Messages taken since the clock was last read.
    unread: u32,
}

impl BurstClock {
    /// Messages that may share one reading.
    const EVERY: u32 = 64;

    fn new() -> Self {
        Self {
            at: Instant::now(),
            unread: 0,
        }
    }

    /// The time of a message that arrived after a wait (`waited`), or with
    /// the ones before it; a new reading is also when `liveness` last heard
    /// the peer.
    fn read(&mut self, waited: bool, liveness: &Liveness) -> Instant {
        if waited || self.unread >= Self::EVERY {
            self.at = Instant::now();
            self.unread = 0;
            liveness.received(self.at);
        } else {
            self.unread += 1;
        }
        self.at
    }
}

/// Messages of one burst after which the reader writes the answers queued
/// so far, though more messages are ready.
const BURST_WRITE_EVERY: u32 = 128;

/// Why the reader's wait ended.
enum Wake {
    /// The stream gave a message, or ended (`None`).
    Next(Option<Received>),
    /// The session is closing.
    Closing,
    /// A fragmented message took too long to arrive whole.
    Expired,
}

/// Sleeps until `deadline`, or forever without one.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn decode<'a>(shared: &Shared, message: &'a Bytes) -> Result<Decoded<'a>, CloseReason> {
    codec::decode(message, shared.config.max_message_size).map_err(|err| transport::malformed(&err))
}

/// Handles one binary message, or one piece of a fragmented one, which
/// arrived at `now` by the reader's clock; an error closes the session with
/// that reason.
fn on_message(
    shared: &Arc<Shared>,
    reassembly: &mut Reassembly,
    message: &Bytes,
    now: Instant,
) -> Result<(), CloseReason> {
    let decoded = decode(shared, message)?;
    let Frame::Fragment(fragment) = decoded.frame else {
        return on_frame(shared, decoded, now);
    };
    let Some(whole) = reassembly.add(fragment.message, fragment.last, &decoded.payload)? else {
        return Ok(());
    };
    on_frame(shared, decode(shared, &whole)?, now)
}

/// Handles one whole frame, which arrived at `now`.
fn on_frame(shared: &Arc<Shared>, decoded: Decoded<'_>, now: Instant) -> Result<(), CloseReason> {
    let Decoded { frame, payload } = decoded;
    let request = |id, method, headers, payload| inbound::Incoming {
        id,
        method,
        headers,
        payload,
        stream_credit: None,
        notify: false,
        arrived: now,
    };
    match frame {
        Frame::Call(call) => admit(
            shared,
            request(Some(call.id), call.method, &call.headers, payload),
        )?,
        Frame::Cast(cast) => admit(shared, request(None, cast.method, &cast.headers, payload))?,
        Frame::Notify(notify) => {
            let incoming = inbound::Incoming {
                notify: true,
                ..request(None, notify.topic, &[], payload)
            };
            inbound::admit(shared, incoming)?;
        }
        Frame::Open(open) => {
            if usize::try_from(open.credit).is_ok_and(|c| c > streams::MAX_CREDIT) {
                return Err(violation(streams::over_the_credit_cap(open.id)));
            }
            let incoming = inbound::Incoming {
                stream_credit: Some(open.credit),
                ..request(Some(open.id), open.method, &open.headers, payload)
            };
            admit(shared, incoming)?;
        }
        Frame::Item(StreamRef { id, to }) => {
            shared
                .streams
                .deliver(to, id, Event::Item(payload))
                .map_err(violation)?;
        }
        Frame::End(StreamRef { id, to }) => {
            shared
                .streams
                .deliver(to, id, Event::End)
                .map_err(violation)?;
        }
        Frame::Credit(credit) => {
            shared
                .streams
                .grant(credit.to, credit.id, credit.items)
                .map_err(violation)?;
        }
        Frame::Fragment(_) => {
            return Err(CloseReason::local(
                close_code::PROTOCOL,
                "a fragmented message holds a fragment",
            ));
        }
        Frame::Reply(reply) => on_reply(shared, reply.id, payload),
        Frame::Described(Described { id }) => on_reply(shared, id, payload),
        Frame::Error(error) => on_error(shared, &error, payload),
        Frame::Cancel(cancel) => {
            shared.streams.forget_served(cancel.id);
            if shared.inbound.cancel(cancel.id) {
                tracing::debug!(id = cancel.id, "call cancelled by the peer");
            }
        }
        Frame::Discover(discover) => answer_discover(shared, discover.id)?,
        Frame::Accepted(accepted) => {
            if !shared.features().stream_accepted {
                return Err(CloseReason::local(
                    close_code::PROTOCOL,
                    "an accepted frame, but the stream-accepted feature was not agreed",
                ));
            }
            shared.streams.accepted(accepted.id).map_err(violation)?;
        }
        other @ (Frame::Hello(_) | Frame::Welcome(_)) => {
            return Err(CloseReason::local(
                close_code::PROTOCOL,
                format!("unexpected {} frame after the handshake", other.kind()),
            ));
        }
    }
    Ok(())
}

/// Completes the call, discover request or stream a reply is for.
fn on_reply(shared: &Shared, id: u64, payload: Bytes) {
    if let Err(Answer::Value(payload)) = shared.pending.complete(id, Answer::Value(payload)) {
        finish_stream(shared, id, Event::Reply(payload));
    }
}

/// Fails the call or stream an error is for (id 0: only logged).
fn on_error(shared: &Shared, error: &ErrorFrame<'_>, payload: Bytes) {
    if error.id == CONNECTION_ERROR_ID && error.code == ErrorCode::UNKNOWN_TOPIC {
        undelivered(shared, error.message);
        return;
    }
    if error.id == CONNECTION_ERROR_ID {
        record::peer_event(PeerEvent::PeerError);
        shared.log_limit.log(|suppressed| {
            tracing::warn!(code = %error.code, message = %Clipped(error.message), suppressed, "peer reported an error");
        });
        return;
    }
    let remote = RemoteError::new(error.code, error.message.to_owned(), payload);
    if let Err(Answer::Failed(remote)) = shared.pending.complete(error.id, Answer::Failed(remote)) {
        finish_stream(
            shared,
            error.id,
            Event::Failed(StreamError::Application(remote)),
        );
    }
}

/// A push the peer serves no method for: to the dead-letter queue, so that
/// the sender learns of it, and to the (bounded) log.
fn undelivered(shared: &Shared, topic: &str) {
    record::undelivered(Undelivered::UnknownTopic);
    let queued = shared
        .dead_letters()
        .is_some_and(|letters| letters.unknown_topic(shared.id(), topic));
    shared.log_limit.log(|suppressed| {
        tracing::warn!(topic = %Clipped(topic), queued, suppressed, "the peer serves no method for a push's topic");
    });
}

/// Hands a call, cast or stream to admission.
fn admit(shared: &Arc<Shared>, incoming: inbound::Incoming<'_>) -> Result<(), CloseReason> {
    if incoming.id == Some(CONNECTION_ERROR_ID) {
        return Err(id_zero());
    }
    inbound::admit(shared, incoming)
}

fn id_zero() -> CloseReason {
    CloseReason::local(close_code::PROTOCOL, "id 0 is reserved")
}

/// Answers a discover request without waiting, like a handler's answer.
fn answer_discover(shared: &Shared, id: u64) -> Result<(), CloseReason> {
    if id == CONNECTION_ERROR_ID {
        return Err(id_zero());
    }
    match codec::encode_raw(&Frame::Described(Described { id }), shared.described()) {
        Ok(bytes) => match shared.fits(&bytes) {
            Ok(()) => shared.answer(id, bytes),
            Err(too_large) => shared.refuse(id, ErrorCode::TOO_LARGE, &too_large.message()),
        },
        Err(err) => tracing::error!(error = %err, "discover answer does not encode"),
    }
    Ok(())
}

fn violation(violation: Violation) -> CloseReason {
    CloseReason::local(close_code::PROTOCOL, violation.0)
}

/// An answer for no pending call may end a stream this side opened.
fn finish_stream(shared: &Shared, id: u64, event: Event) {
    if !shared.streams.finish_opened(id, event) {
        tracing::debug!(id, "answer for no waiting call dropped");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_shares_one_reading_and_a_wait_or_a_long_burst_reads_again() {
        let liveness = Liveness::new();
        let mut clock = BurstClock::new();
        let step = Duration::from_millis(5);
        tokio::time::advance(step).await;
        let first = clock.read(true, &liveness);
        assert_eq!(first, Instant::now());
        for _ in 0..BurstClock::EVERY {
            tokio::time::advance(step).await;
            assert_eq!(clock.read(false, &liveness), first, "the burst's reading");
        }
        // The 65th message of a burst reads the clock again.
        assert_eq!(clock.read(false, &liveness), Instant::now());
        tokio::time::advance(step).await;
        assert_eq!(clock.read(true, &liveness), Instant::now(), "after a wait");
    }
}
