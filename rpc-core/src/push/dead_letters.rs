//! The dead-letter queue: every push that is not delivered, with its
//! reason and payload, so that none vanishes silently.

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::{
    codec,
    metrics::record::{self, Undelivered},
    protocol::{Frame, Notify},
};

/// Why a push ended in the dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeadLetterReason {
    /// The queue was full (drop-newest or dead-letter policy, or `try_push`).
    Full,
    /// The push was evicted by a newer one (drop-oldest policy).
    Evicted,
    /// The session had ended.
    Closed,
    /// The handle's rate limit was crossed.
    RateLimited,
    /// The push is larger than the peer accepts.
    TooLarge,
    /// The peer serves no method for the push's topic (it answered
    /// [`ErrorCode::UNKNOWN_TOPIC`](crate::ErrorCode::UNKNOWN_TOPIC)). The
    /// letter's payload is empty: the push had left this side.
    UnknownTopic,
    /// The push was for sessions on other nodes and the bus was not
    /// connected: nothing is buffered while the broker is away.
    BusUnavailable,
    /// The push was for sessions on other nodes and the bus's publish
    /// queue ([`Cluster::publish_queue`](crate::Cluster::publish_queue)) was
    /// full.
    BusFull,
}

/// A push that could not be delivered, with what it carried.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The session it was meant for; 0 for a broadcast that could not be
    /// handed to the bus ([`DeadLetterReason::BusUnavailable`],
    /// [`DeadLetterReason::BusFull`]), which was meant for no one session.
    pub session_id: u64,
    /// Its topic.
    pub topic: String,
    /// The encoded value (postcard).
    pub payload: Bytes,
    /// Why it was not delivered.
    pub reason: DeadLetterReason,
}

/// Where undelivered pushes go, when the server was given a dead-letter queue.
#[derive(Debug, Clone)]
pub(crate) struct DeadLetters(mpsc::Sender<DeadLetter>);

impl DeadLetters {
    pub(crate) fn new(sender: mpsc::Sender<DeadLetter>) -> Self {
        Self(sender)
    }

    /// Records an undelivered frame (a whole encoded notify frame).
    pub(crate) fn record(&self, session_id: u64, frame: &Bytes, reason: DeadLetterReason) {
        let Ok(decoded) = codec::decode(frame, usize::MAX) else {
            return;
        };
        let Frame::Notify(Notify { topic }) = decoded.frame else {
            return;
        };
        let letter = DeadLetter {
            session_id,
            topic: topic.to_owned(),
            payload: decoded.payload,
            reason,
        };
        if self.0.try_send(letter).is_err() {
            record::dead_letter_lost();
            tracing::error!(
                session_id,
                topic,
                ?reason,
                "dead-letter queue full or gone; push lost"
            );
        }
    }
}

impl DeadLetters {
    /// Records a push the peer reported it serves no method for; `false`
    /// when the queue is full or gone (the caller logs it, bounded).
    pub(crate) fn unknown_topic(&self, session_id: u64, topic: &str) -> bool {
        let queued = self
            .0
            .try_send(DeadLetter {
                session_id,
                topic: topic.to_owned(),
                payload: Bytes::new(),
                reason: DeadLetterReason::UnknownTopic,
            })
            .is_ok();
        if !queued {
            record::dead_letter_lost();
        }
        queued
    }
}

/// Counts an undelivered push and sends it to the dead-letter queue, if
/// there is one.
pub(crate) fn dead_letter(
    dead_letters: Option<&DeadLetters>,
    session_id: u64,
    frame: &Bytes,
    reason: DeadLetterReason,
) {
    record::undelivered(match reason {
        DeadLetterReason::Full => Undelivered::Full,
        DeadLetterReason::Evicted => Undelivered::Evicted,
        DeadLetterReason::Closed => Undelivered::Closed,
        DeadLetterReason::RateLimited => Undelivered::RateLimited,
        DeadLetterReason::TooLarge => Undelivered::TooLarge,
        DeadLetterReason::UnknownTopic => Undelivered::UnknownTopic,
        DeadLetterReason::BusUnavailable => Undelivered::BusUnavailable,
        DeadLetterReason::BusFull => Undelivered::BusFull,
    });
    if let Some(dead_letters) = dead_letters {
        dead_letters.record(session_id, frame, reason);
    }
}
