//! The state a registry shares with its bus task, and the public view of
//! it, [`ClusterHandle`]: handing pushes to the bus (bounded, never
//! waiting), the connection status, and presence.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc, watch};

use super::{
    BusDelivery, BusError, BusLink, PresenceEntry, PresenceEvent, PresenceEvents,
    envelope::{self, Notice, Target},
    presence,
};
use crate::push::{DeadLetterReason, DeadLetters, PushOptions, dead_letter};

/// Whether a node is connected to its broker now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BusStatus {
    /// Not connected yet: attempts go on, with backoff after a failure.
    /// Pushes for other nodes go to the dead-letter queue meanwhile.
    Connecting,
    /// Connected and subscribed: pushes for other nodes are published.
    Connected,
    /// The connection was lost; the node is reconnecting with backoff.
    /// Pushes for other nodes go to the dead-letter queue meanwhile.
    Disconnected,
}

/// A push waiting to be published.
#[derive(Debug)]
pub(super) struct Outgoing {
    pub(super) channel: String,
    pub(super) payload: Bytes,
    /// The notify frame inside `payload`, for a dead letter.
    pub(super) frame: Bytes,
    pub(super) session_id: u64,
}

/// The channel every node subscribes to for broadcasts.
pub(crate) const ALL: &str = "all";
/// The channel of presence notices.
pub(super) const PRESENCE: &str = "presence";

/// The channel of one node, for pushes to its sessions.
pub(crate) fn node_channel(node: &str) -> String {
    format!("node.{node}")
}

/// One node of a cluster: what its registry and its bus task share.
#[derive(Debug)]
pub(crate) struct Node {
    pub(super) name: String,
    queue: mpsc::Sender<Outgoing>,
    status: watch::Sender<BusStatus>,
    link: Mutex<Option<Arc<dyn BusLink>>>,
    presence: broadcast::Sender<PresenceEvent>,
    dead_letters: Option<DeadLetters>,
}

impl Node {
    pub(super) fn new(
        name: String,
        queue: mpsc::Sender<Outgoing>,
        events: usize,
        dead_letters: Option<DeadLetters>,
    ) -> Self {
        Self {
            name,
            queue,
            status: watch::channel(BusStatus::Connecting).0,
            link: Mutex::new(None),
            presence: broadcast::channel(events.max(1)).0,
            dead_letters,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Hands an encoded notify `frame` to the bus for `target` on the nodes
    /// listening on `channel`. Never waits: when the bus is down or its
    /// queue full, the push is a dead letter and the answer says so.
    pub(crate) fn hand(
        &self,
        channel: String,
        target: Target,
        options: PushOptions,
        frame: &Bytes,
    ) -> BusDelivery {
        let session_id = match target {
            Target::Session(id) => id,
            _ => 0,
        };
        if *self.status.borrow() != BusStatus::Connected {
            self.dead_letter(session_id, frame, DeadLetterReason::BusUnavailable);
            return BusDelivery::Unavailable;
        }
        let outgoing = Outgoing {
            channel,
            payload: envelope::encode(&self.name, target, options, frame),
            frame: frame.clone(),
            session_id,
        };
        match self.queue.try_send(outgoing) {
            Ok(()) => BusDelivery::Handed,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.dead_letter(session_id, frame, DeadLetterReason::BusFull);
                BusDelivery::Full
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.dead_letter(session_id, frame, DeadLetterReason::BusUnavailable);
                BusDelivery::Unavailable
            }
        }
    }

    pub(super) fn dead_letter(&self, session_id: u64, frame: &Bytes, reason: DeadLetterReason) {
        dead_letter(self.dead_letters.as_ref(), session_id, frame, reason);
    }

    pub(super) fn connected(&self, link: Option<Arc<dyn BusLink>>) {
        let status = if link.is_some() {
            BusStatus::Connected
        } else {
            BusStatus::Disconnected
        };
        *self.link.lock().unwrap_or_else(PoisonError::into_inner) = link;
        self.status.send_replace(status);
    }

    fn link(&self) -> Result<Arc<dyn BusLink>, BusError> {
        self.link
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(BusError::Unavailable)
    }

    /// Tells local subscribers what a notice stands for.
    pub(super) fn announce(&self, notice: Notice) {
        if self.presence.receiver_count() > 0 {
            for event in presence::events(notice) {
                let _ = self.presence.send(event);
            }
        }
    }
}

/// A server's view of its node, from
/// [`Registry::cluster`](crate::Registry::cluster): its name, its
/// connection to the broker, and presence across nodes.
#[derive(Debug, Clone)]
pub struct ClusterHandle(pub(crate) Arc<Node>);

impl ClusterHandle {
    /// This node's name.
    pub fn node(&self) -> &str {
        &self.0.name
    }

    /// Whether the node is connected to the broker now.
    pub fn status(&self) -> BusStatus {
        *self.0.status.borrow()
    }

    /// Waits until the node's status is `status` (at once if it is).
    pub async fn wait_for(&self, status: BusStatus) {
        let mut watch = self.0.status.subscribe();
        // The sender lives as long as the node, which `self` holds.
        let _ = watch.wait_for(|now| *now == status).await;
    }

    /// Every session with an identity on every live node, as the broker
    /// holds it now (a node's own changes are stored within a few
    /// milliseconds).
    ///
    /// # Errors
    ///
    /// [`BusError::Unavailable`] while the node is not connected, or what
    /// the broker answered.
    pub async fn presence(&self) -> Result<Vec<PresenceEntry>, BusError> {
        let link = self.0.link()?;
        let mut entries = link.load_presence().await?;
        entries.sort();
        Ok(entries)
    }

    /// The sessions of identity `subject`, on whatever node.
    ///
    /// # Errors
    ///
    /// As [`presence`](Self::presence).
    pub async fn lookup(&self, subject: &str) -> Result<Vec<PresenceEntry>, BusError> {
        let mut entries = self.presence().await?;
        entries.retain(|entry| entry.subject == subject);
        Ok(entries)
    }

    /// Subscribes to presence changes on every node, this one included,
    /// from now on.
    pub fn presence_events(&self) -> PresenceEvents {
        PresenceEvents::new(self.0.presence.subscribe())
    }
}
