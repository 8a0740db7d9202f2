//! Arrivals and departures of a registry's sessions, as a bounded
//! broadcast, so that applications and tests wait on events instead of
//! polling the registry.

use tokio::sync::broadcast;

use super::SessionHandle;
use crate::{error::CloseReason, identity::Identity};

/// A session arrived in or left a [`Registry`](super::Registry).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RegistryEvent {
    /// A session started (after its handshake, before its first call).
    Joined(SessionHandle),
    /// A session ended and left the registry: it is in no look-up any more.
    #[non_exhaustive]
    Left {
        /// Its id.
        id: u64,
        /// Its identity, if the authentication hook attached one.
        identity: Option<Identity>,
        /// Why it ended.
        reason: CloseReason,
    },
}

/// Why [`RegistryEvents::recv`] returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventsError {
    /// This subscriber fell more than
    /// [`ServerConfig::registry_events`](crate::ServerConfig::registry_events)
    /// events behind; the oldest `missed` events are gone for it, and the
    /// next `recv` returns the oldest event still kept. The registry itself
    /// is still right: look sessions up there to resynchronise.
    #[error("{missed} registry events were missed by a slow subscriber")]
    Lagged {
        /// How many events it missed.
        missed: u64,
    },
    /// The registry is gone (its server and every session ended).
    #[error("the registry is gone")]
    Closed,
}

/// A subscription to a registry's [`RegistryEvent`]s, from
/// [`Registry::events`](super::Registry::events): every event after the
/// subscription, in order.
///
/// Bounded: the registry keeps the last
/// [`ServerConfig::registry_events`](crate::ServerConfig::registry_events)
/// events (default 1024) for its subscribers, whatever their number. A
/// subscriber that falls further behind does not hold the others back nor
/// grow memory: it loses the oldest and is told so by
/// [`EventsError::Lagged`].
#[derive(Debug)]
pub struct RegistryEvents(broadcast::Receiver<RegistryEvent>);

impl RegistryEvents {
    pub(super) fn new(receiver: broadcast::Receiver<RegistryEvent>) -> Self {
        Self(receiver)
    }

    /// Waits for the next event.
    ///
    /// # Errors
    ///
    /// [`EventsError::Lagged`] when events were lost to this slow
    /// subscriber (the following call goes on with the oldest kept),
    /// [`EventsError::Closed`] when the registry is gone.
    pub async fn recv(&mut self) -> Result<RegistryEvent, EventsError> {
        self.0.recv().await.map_err(|err| match err {
            broadcast::error::RecvError::Lagged(missed) => EventsError::Lagged { missed },
            broadcast::error::RecvError::Closed => EventsError::Closed,
        })
    }
}
