//! Presence: which identities are connected on which node. Each node
//! stores its own sessions with an identity in the broker with a time to
//! live and refreshes it; notices of what changed travel on the bus, and
//! become [`PresenceEvent`]s on every node.

use std::collections::BTreeSet;

use tokio::sync::broadcast;

use super::envelope::Notice;
use crate::push::EventsError;

/// One session with an identity, on some node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct PresenceEntry {
    /// The node it is connected to.
    pub node: String,
    /// Its session id on that node.
    pub session_id: u64,
    /// Its identity's subject.
    pub subject: String,
}

impl PresenceEntry {
    /// A session `session_id` of `node` with identity `subject`.
    pub fn new(node: impl Into<String>, session_id: u64, subject: impl Into<String>) -> Self {
        Self {
            node: node.into(),
            session_id,
            subject: subject.into(),
        }
    }
}

/// A change of presence on some node, local or remote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PresenceEvent {
    /// A session with an identity arrived.
    Joined(PresenceEntry),
    /// A session with an identity left.
    Left(PresenceEntry),
    /// A node's presence ran out of time (it crashed or lost the broker
    /// for longer than the TTL): all its sessions are gone from presence.
    NodeExpired {
        /// The node's name.
        node: String,
    },
}

/// A subscription to [`PresenceEvent`]s from
/// [`ClusterHandle::presence_events`](super::ClusterHandle::presence_events).
///
/// Bounded as [`RegistryEvents`](crate::RegistryEvents) are: a subscriber
/// that falls behind loses the oldest events and is told so. Events are
/// hints, at most once across nodes; [`ClusterHandle::presence`] is the
/// truth to read after a lag or a reconnect.
///
/// [`ClusterHandle::presence`]: super::ClusterHandle::presence
#[derive(Debug)]
pub struct PresenceEvents(broadcast::Receiver<PresenceEvent>);

impl PresenceEvents {
    pub(super) fn new(receiver: broadcast::Receiver<PresenceEvent>) -> Self {
        Self(receiver)
    }

    /// Waits for the next event.
    ///
    /// # Errors
    ///
    /// [`EventsError::Lagged`] when events were lost to this slow
    /// subscriber, [`EventsError::Closed`] when the server is gone.
    pub async fn recv(&mut self) -> Result<PresenceEvent, EventsError> {
        self.0.recv().await.map_err(|err| match err {
            broadcast::error::RecvError::Lagged(missed) => EventsError::Lagged { missed },
            broadcast::error::RecvError::Closed => EventsError::Closed,
        })
    }
}

/// The node's presence as last stored, to tell what changed since.
#[derive(Debug, Default)]
pub(super) struct Snapshot(BTreeSet<(u64, String)>);

impl Snapshot {
    /// Takes `now` as the presence, returning a notice of the difference
    /// (with `origin` set) if there is one.
    pub(super) fn update(&mut self, origin: &str, now: Vec<(u64, String)>) -> Option<Notice> {
        let now: BTreeSet<_> = now.into_iter().collect();
        let joined: Vec<_> = now.difference(&self.0).cloned().collect();
        let left: Vec<_> = self.0.difference(&now).cloned().collect();
        self.0 = now;
        (!joined.is_empty() || !left.is_empty()).then(|| Notice {
            origin: origin.to_owned(),
            joined,
            left,
            expired: Vec::new(),
        })
    }

    /// Forgets what was stored (the broker may have lost it): the next
    /// update announces every session again.
    pub(super) fn clear(&mut self) {
        self.0.clear();
    }

    /// What was stored last, to store it again.
    pub(super) fn entries(&self) -> Vec<(u64, String)> {
        self.0.iter().cloned().collect()
    }
}

/// The events a notice stands for.
pub(super) fn events(notice: Notice) -> impl Iterator<Item = PresenceEvent> {
    let origin = notice.origin;
    let entry = {
        let origin = origin.clone();
        move |(id, subject)| PresenceEntry::new(origin.clone(), id, subject)
    };
    let joined = notice
        .joined
        .into_iter()
        .map(entry.clone())
        .map(PresenceEvent::Joined);
    let left = notice.left.into_iter().map(entry).map(PresenceEvent::Left);
    let expired = notice
        .expired
        .into_iter()
        .map(|node| PresenceEvent::NodeExpired { node });
    left.chain(joined).chain(expired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_announce_only_differences() {
        let mut snapshot = Snapshot::default();
        let first = snapshot
            .update("a", vec![(1, "alice".into()), (2, "bob".into())])
            .unwrap();
        assert_eq!(first.joined.len(), 2);
        assert!(
            snapshot
                .update("a", vec![(2, "bob".into()), (1, "alice".into())])
                .is_none()
        );
        let second = snapshot.update("a", vec![(2, "bob".into())]).unwrap();
        assert_eq!(second.left, [(1, "alice".to_owned())]);
        let events: Vec<_> = events(second).collect();
        assert_eq!(
            events,
            [PresenceEvent::Left(PresenceEntry::new("a", 1, "alice"))]
        );
        snapshot.clear();
        assert_eq!(
            snapshot
                .update("a", vec![(2, "bob".into())])
                .unwrap()
                .joined
                .len(),
            1
        );
    }
}
