//! Reaching a peer at any moment, not only in answer to a call: push handles
//! with priorities and full-queue policies, a registry of live sessions
//! indexed by tag and identity with arrival and departure events, broadcast
//! that encodes once (across nodes too, through a bus), and a dead-letter
//! queue so that no undelivered push vanishes silently.

mod bus;
mod dead_letters;
mod registry;

#[cfg(feature = "redis")]
pub use bus::RedisBus;
pub use bus::{
    BrokerError, Bus, BusDelivery, BusError, BusFuture, BusLink, BusMessage, BusMessages,
    BusStatus, Cluster, ClusterHandle, PresenceEntry, PresenceEvent, PresenceEvents,
};
pub(crate) use bus::{Node, spawn as cluster_node};
pub use dead_letters::{DeadLetter, DeadLetterReason};
pub(crate) use dead_letters::{DeadLetters, dead_letter};
pub use registry::{
    Audience, BroadcastReport, EventsError, Registry, RegistryEvent, RegistryEvents, RegistryStats,
    SessionHandle,
};
pub(crate) use registry::{TagChange, deliver};

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError, Weak},
};

use bytes::Bytes;
use serde::Serialize;

use crate::{
    codec::{self, CodecError},
    outbound::{Class, Full},
    protocol::{Frame, Notify},
    rate::{RateLimit, TokenBucket},
    session::{Peer, Shared},
};

/// Which of a session's two push classes a push goes to. The writer serves,
/// in order: control frames, high-priority pushes, replies and calls,
/// low-priority pushes. A push larger than the fragment size goes out in
/// pieces at its priority; smaller pushes queued after it may overtake it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Priority {
    /// Ahead of replies and calls (only the library's own control frames
    /// and refusals go first): alerts, control messages.
    High,
    /// Behind replies and calls: feeds, progress, presence.
    #[default]
    Low,
}

/// What a push does when the session's queue for its priority is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PushPolicy {
    /// Wait for room (what [`PushHandle::push`] does).
    #[default]
    Wait,
    /// Discard this push; it is reported as [`PushError::Full`].
    DropNewest,
    /// Make room by discarding the oldest queued push of that priority.
    DropOldest,
    /// Fail with [`PushError::Full`] (what [`PushHandle::try_push`] does).
    Fail,
    /// Send this push to the dead-letter queue and return [`PushError::Full`].
    DeadLetter,
}

/// How a push is queued on the receiving side: its [`Priority`] and what
/// a full queue does ([`PushPolicy`]). Broadcasts take them through
/// [`Registry::broadcast_with`], and a broadcast that crosses the bus
/// carries them to the node of each receiving session, which applies them
/// there.
///
/// A broadcast never waits: [`PushPolicy::Wait`] is taken as
/// [`PushPolicy::Fail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PushOptions {
    /// The class the push goes to (default [`Priority::Low`]).
    pub priority: Priority,
    /// What a full queue does (default [`PushPolicy::Wait`], taken as
    /// [`PushPolicy::Fail`] by broadcasts).
    pub policy: PushPolicy,
}

impl PushOptions {
    /// These options with pushes at `priority`.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// These options with `policy` for a full queue.
    pub fn policy(mut self, policy: PushPolicy) -> Self {
        self.policy = policy;
        self
    }
}

/// Why a push was not queued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The session's queue for the push's priority, or its outbound byte
    /// budget, was full and the policy did not wait.
    #[error("the session's push queue is full")]
    Full,
    /// The session has ended.
    #[error("the session is closed")]
    Closed,
    /// The handle's rate limit was crossed.
    #[error("the push rate limit is exceeded")]
    RateLimited,
    /// The push is larger than the peer's `max_message_size`.
    #[error("the push of {size} bytes exceeds the peer's message size limit of {max} bytes")]
    TooLarge {
        /// Size of the encoded push.
        size: usize,
        /// The peer's limit.
        max: usize,
    },
    /// The value could not be encoded.
    #[error("could not encode the push")]
    Encode(#[source] CodecError),
}

/// Encodes a notification frame, once, for any number of sessions.
pub(crate) fn encode_push<T: Serialize + ?Sized>(
    topic: &str,
    value: &T,
) -> Result<Bytes, PushError> {
    codec::encode_with(&Frame::Notify(Notify { topic }), value).map_err(PushError::Encode)
}

/// A cheap, clonable handle to one session that does not keep it alive:
/// once the session ends, pushes fail with [`PushError::Closed`].
///
/// Pushes are notifications: the peer routes a push on `topic` to its method
/// of that name, like a cast. Get one from
/// [`Session::push_handle`](crate::Session::push_handle) or a server's
/// [`Registry`].
#[derive(Clone)]
pub struct PushHandle {
    session: Weak<Shared>,
    session_id: u64,
    priority: Priority,
    limit: Option<Arc<Mutex<TokenBucket>>>,
    dead_letters: Option<DeadLetters>,
}

impl fmt::Debug for PushHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushHandle")
            .field("session_id", &self.session_id)
            .field("priority", &self.priority)
            .field("alive", &self.is_alive())
            .finish_non_exhaustive()
    }
}

impl PushHandle {
    pub(crate) fn new(shared: &Arc<Shared>) -> Self {
        Self {
            session: Arc::downgrade(shared),
            session_id: shared.id(),
            priority: Priority::Low,
            limit: None,
            dead_letters: shared.dead_letters().cloned(),
        }
    }

    /// Id of the session this handle reaches.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// Whether the session is still open.
    pub fn is_alive(&self) -> bool {
        self.session
            .upgrade()
            .is_some_and(|shared| !shared.is_closing())
    }

    /// This handle with pushes sent at `priority` (default [`Priority::Low`]).
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// This handle (and its clones) limited to `limit`; pushes over it fail
    /// with [`PushError::RateLimited`].
    pub fn with_rate_limit(mut self, limit: RateLimit) -> Self {
        self.limit = Some(Arc::new(Mutex::new(TokenBucket::new(limit))));
        self
    }

    /// A handle to call the session's peer, while the session lives.
    pub fn peer(&self) -> Option<Peer> {
        self.session.upgrade().map(Peer::new)
    }

    /// Pushes `value` on `topic`, waiting for room in the queue.
    ///
    /// # Errors
    ///
    /// [`PushError::Closed`], [`PushError::RateLimited`], [`PushError::Encode`].
    pub async fn push<T: Serialize + ?Sized>(
        &self,
        topic: &str,
        value: &T,
    ) -> Result<(), PushError> {
        self.push_with_policy(topic, value, PushPolicy::Wait).await
    }

    /// Pushes `value` on `topic` if there is room now.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`], [`PushError::Closed`], [`PushError::RateLimited`],
    /// [`PushError::Encode`].
    pub fn try_push<T: Serialize + ?Sized>(&self, topic: &str, value: &T) -> Result<(), PushError> {
        let frame = encode_push(topic, value)?;
        self.try_push_frame(frame, PushPolicy::Fail)
    }

    /// Pushes `value` on `topic`; `policy` says what a full queue does.
    /// Every push that is not delivered also goes to the server's dead-letter
    /// queue, when it has one.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] (for every policy but `Wait` and `DropOldest`),
    /// [`PushError::Closed`], [`PushError::RateLimited`], [`PushError::Encode`].
    pub async fn push_with_policy<T: Serialize + ?Sized>(
        &self,
        topic: &str,
        value: &T,
        policy: PushPolicy,
    ) -> Result<(), PushError> {
        let frame = encode_push(topic, value)?;
        if policy != PushPolicy::Wait {
            return self.try_push_frame(frame, policy);
        }
        let shared = self.admit(&frame)?;
        let sent = tokio::select! {
            biased;
            () = shared.closing() => Err(()),
            sent = shared.outbound().send(self.class(), frame.clone()) => sent.map_err(drop),
        };
        sent.map_err(|()| {
            self.dead_letter(&frame, DeadLetterReason::Closed);
            PushError::Closed
        })
    }

    fn class(&self) -> Class {
        match self.priority {
            Priority::High => Class::High,
            Priority::Low => Class::Low,
        }
    }

    /// Queues an encoded frame without waiting (broadcast shares one
    /// encoding across handles through this).
    pub(crate) fn try_push_frame(&self, frame: Bytes, policy: PushPolicy) -> Result<(), PushError> {
        let shared = self.admit(&frame)?;
        let outbound = shared.outbound();
        match policy {
            PushPolicy::DropOldest => {
                let evicting = outbound.send_evicting(self.class(), frame);
                for frame in &evicting.evicted {
                    self.dead_letter(frame, DeadLetterReason::Evicted);
                }
                evicting.queued.map_err(|frame| self.full(Full(frame)))
            }
            _ => outbound
                .try_send(self.class(), frame)
                .map_err(|full| self.full(full)),
        }
    }

    fn full(&self, Full(frame): Full) -> PushError {
        self.dead_letter(&frame, DeadLetterReason::Full);
        PushError::Full
    }

    /// The live session, if the push may go: open and within the rate limit.
    fn admit(&self, frame: &Bytes) -> Result<Arc<Shared>, PushError> {
        let Some(shared) = self.session.upgrade().filter(|s| !s.is_closing()) else {
            self.dead_letter(frame, DeadLetterReason::Closed);
            return Err(PushError::Closed);
        };
        if let Err(too_large) = shared.fits(frame) {
            self.dead_letter(frame, DeadLetterReason::TooLarge);
            return Err(PushError::TooLarge {
                size: too_large.size,
                max: too_large.max,
            });
        }
        if let Some(limit) = &self.limit
            && !limit.lock().unwrap_or_else(PoisonError::into_inner).take()
        {
            self.dead_letter(frame, DeadLetterReason::RateLimited);
            return Err(PushError::RateLimited);
        }
        Ok(shared)
    }

    fn dead_letter(&self, frame: &Bytes, reason: DeadLetterReason) {
        dead_letter(self.dead_letters.as_ref(), self.session_id, frame, reason);
    }
}
