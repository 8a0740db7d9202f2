//! The registry of a server's live sessions: look-up by id, identity or tag,
//! broadcast, and arrival and departure events. It holds weak references
//! only, indexes sessions by tag and by identity subject so that a look-up
//! costs the size of its answer, and a session leaves it, and every index,
//! when it ends.

mod events;
mod handle;
mod index;

pub use events::{EventsError, RegistryEvent, RegistryEvents};
pub use handle::SessionHandle;
pub(crate) use index::TagChange;

use std::{
    fmt,
    sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak},
};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::broadcast;

use super::{
    BusDelivery, ClusterHandle, Node, PushError, PushHandle, PushOptions, PushPolicy,
    bus::{self, Target},
    encode_push,
};
use crate::session::Shared;
use index::Index;

/// Which sessions a look-up or broadcast concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Audience<'a> {
    /// Every live session.
    All,
    /// Sessions tagged `key=value` ([`Session::join`](crate::Session::join),
    /// [`Session::tag`](crate::Session::tag)), whatever other values of
    /// `key` they hold.
    Tag(&'a str, &'a str),
    /// Sessions whose identity has this subject.
    Identity(&'a str),
}

/// What a broadcast achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastReport {
    /// Sessions whose queue took the push.
    pub reached: usize,
    /// Sessions whose queue was full (the push went to the dead-letter
    /// queue, if there is one).
    pub full: usize,
    /// Sessions that closed in the meantime.
    pub closed: usize,
    /// Sessions whose peer accepts no message this large (the push went
    /// to the dead-letter queue, if there is one).
    pub too_large: usize,
    /// What was done for sessions on other nodes: nothing without a bus,
    /// else whether the push was handed to it. The counts above are this
    /// node's sessions only.
    pub bus: BusDelivery,
}

/// How much a registry holds now, from [`Registry::stats`]: for metrics,
/// and for checking that nothing stays behind once sessions have left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistryStats {
    /// Sessions registered.
    pub sessions: usize,
    /// Distinct `key=value` tags that at least one session holds.
    pub tags: usize,
    /// Distinct identity subjects among the sessions.
    pub subjects: usize,
}

/// The live sessions of a server. Cheap to clone; every clone sees the same
/// sessions. Get it from [`Server::registry`](crate::Server::registry) or,
/// in a handler, [`Session::registry`](crate::Session::registry).
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    index: RwLock<Index<Weak<Shared>>>,
    events: broadcast::Sender<RegistryEvent>,
    /// The node this registry is part of, when the server has a bus.
    node: Option<Arc<Node>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("sessions", &self.len())
            .finish()
    }
}

impl Registry {
    /// An empty registry that keeps the last `events` events for slow
    /// subscribers (at least 1).
    pub(crate) fn new(events: usize) -> Self {
        Self::with_node(events, None)
    }

    /// An empty registry, one `node` of a cluster if given.
    pub(crate) fn with_node(events: usize, node: Option<Arc<Node>>) -> Self {
        Self {
            inner: Arc::new(Inner {
                index: RwLock::new(Index::default()),
                events: broadcast::channel(events.max(1)).0,
                node,
            }),
        }
    }

    /// The node this registry is part of, when the server was given a
    /// [`Cluster`](crate::Cluster): its name, bus status and presence.
    pub fn cluster(&self) -> Option<ClusterHandle> {
        self.inner.node.clone().map(ClusterHandle)
    }

    fn read(&self) -> RwLockReadGuard<'_, Index<Weak<Shared>>> {
        self.inner
            .index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Index<Weak<Shared>>> {
        self.inner
            .index
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a session that starts with `tags`. The caller holds the
    /// session's tag lock (lock order: tags, then the registry).
    pub(crate) fn insert(&self, shared: &Arc<Shared>, tags: &[(String, String)]) {
        let subject = shared.identity().map(crate::Identity::subject);
        self.write()
            .insert(shared.id(), Arc::downgrade(shared), subject, tags);
        if self.inner.events.receiver_count() > 0 {
            let _ = self
                .inner
                .events
                .send(RegistryEvent::Joined(SessionHandle::new(shared)));
        }
    }

    /// Takes an ending session out, with the `tags` it holds. The caller
    /// holds the session's tag lock.
    pub(crate) fn remove(&self, shared: &Shared, tags: &[(String, String)]) {
        let identity = shared.identity();
        let removed =
            self.write()
                .remove(shared.id(), identity.map(crate::Identity::subject), tags);
        if removed.is_some() && self.inner.events.receiver_count() > 0 {
            let _ = self.inner.events.send(RegistryEvent::Left {
                id: shared.id(),
                identity: identity.cloned(),
                reason: shared.close_reason(),
            });
        }
    }

    /// Indexes a change to a registered session's tags. The caller holds
    /// the session's tag lock.
    pub(crate) fn retag(&self, id: u64, change: &TagChange<'_>) {
        self.write().retag(id, change);
    }

    /// Sessions registered now.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no session is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the session `id` is registered: from its start until it has
    /// ended and left (a closing session is still in it).
    pub fn contains(&self, id: u64) -> bool {
        self.read().get(id).is_some()
    }

    /// Sessions, distinct tags and distinct subjects held now.
    pub fn stats(&self) -> RegistryStats {
        let index = self.read();
        let (tags, subjects) = index.sizes();
        RegistryStats {
            sessions: index.len(),
            tags,
            subjects,
        }
    }

    /// The session with this id, while it lives.
    pub fn get(&self, id: u64) -> Option<SessionHandle> {
        let shared = self.read().get(id)?.upgrade()?;
        (!shared.is_closing()).then(|| SessionHandle::new(&shared))
    }

    /// Every live session in `audience`. A look-up by tag or identity
    /// reads one index entry and costs the size of its answer, however many
    /// sessions the server holds.
    pub fn find(&self, audience: Audience<'_>) -> Vec<SessionHandle> {
        self.live(audience, |_| true)
            .iter()
            .map(SessionHandle::new)
            .collect()
    }

    /// Live sessions in `audience` that `keep` accepts, taken under the
    /// read lock, which is released before anything is done with them.
    /// (`keep` on `Audience::All` is a scan of every session: what look-ups
    /// did before the indexes, kept to measure against.)
    pub(crate) fn live(
        &self,
        audience: Audience<'_>,
        keep: impl Fn(&Shared) -> bool,
    ) -> Vec<Arc<Shared>> {
        let mut live = Vec::new();
        self.read().each(audience, |session| {
            if let Some(shared) = session.upgrade()
                && !shared.is_closing()
                && keep(&shared)
            {
                live.push(shared);
            }
        });
        live
    }

    /// Pushes one notification to every session in `audience`, encoding it
    /// once. Never waits: a full queue counts as `full` and its push goes to
    /// the dead-letter queue, if there is one. Only the sessions in
    /// `audience` are touched.
    ///
    /// On a node of a [`Cluster`](crate::Cluster) it also reaches the
    /// sessions in `audience` on every other node: the same encoded frame
    /// is handed to the bus once ([`BroadcastReport::bus`] says whether it
    /// was), and each other node queues it for its own sessions.
    ///
    /// # Errors
    ///
    /// [`PushError::Encode`] when the value does not encode.
    pub fn broadcast<T: Serialize + ?Sized>(
        &self,
        audience: Audience<'_>,
        topic: &str,
        value: &T,
    ) -> Result<BroadcastReport, PushError> {
        self.broadcast_with(audience, topic, value, PushOptions::default())
    }

    /// [`broadcast`](Self::broadcast) at a priority and with a policy for
    /// full queues, which every node applies to its own sessions.
    ///
    /// # Errors
    ///
    /// [`PushError::Encode`] when the value does not encode.
    pub fn broadcast_with<T: Serialize + ?Sized>(
        &self,
        audience: Audience<'_>,
        topic: &str,
        value: &T,
        options: PushOptions,
    ) -> Result<BroadcastReport, PushError> {
        let frame = encode_push(topic, value)?;
        let mut report = deliver(&self.live(audience, |_| true), &frame, options);
        if let Some(node) = &self.inner.node {
            report.bus = node.hand(
                bus::ALL.to_owned(),
                Target::from_audience(audience),
                options,
                &frame,
            );
        }
        Ok(report)
    }

    /// Pushes one notification to the session `session_id` of the node
    /// `node` ([`ClusterHandle::node`] names this one; presence tells which
    /// node a session is on). A session of this node is pushed to at once;
    /// one of another node through the bus, whose answer is in
    /// [`BroadcastReport::bus`]. Never waits. On a server without a
    /// cluster every session is this node's, and `node` is not read.
    ///
    /// # Errors
    ///
    /// [`PushError::Encode`] when the value does not encode.
    pub fn push_to<T: Serialize + ?Sized>(
        &self,
        node: &str,
        session_id: u64,
        topic: &str,
        value: &T,
        options: PushOptions,
    ) -> Result<BroadcastReport, PushError> {
        let frame = encode_push(topic, value)?;
        match &self.inner.node {
            Some(remote) if remote.name() != node => Ok(BroadcastReport {
                bus: remote.hand(
                    bus::node_channel(node),
                    Target::Session(session_id),
                    options,
                    &frame,
                ),
                ..BroadcastReport::default()
            }),
            _ => Ok(self.deliver_envelope(&Target::Session(session_id), &frame, options)),
        }
    }

    /// Queues a frame that came through the bus to this node's sessions in
    /// `target`.
    pub(crate) fn deliver_envelope(
        &self,
        target: &Target,
        frame: &Bytes,
        options: PushOptions,
    ) -> BroadcastReport {
        let sessions = if let Target::Session(id) = *target {
            self.read()
                .get(id)
                .and_then(Weak::upgrade)
                .filter(|shared| !shared.is_closing())
                .into_iter()
                .collect()
        } else {
            let audience = target
                .audience()
                .expect("every target but a session is an audience");
            self.live(audience, |_| true)
        };
        deliver(&sessions, frame, options)
    }

    /// Every session with an identity: its id and subject, for presence.
    pub(crate) fn identities(&self) -> Vec<(u64, String)> {
        self.read().subjects()
    }

    /// Subscribes to arrivals and departures from now on.
    ///
    /// # Example
    ///
    /// ```
    /// # extern crate rpc_core as rpc;
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use rpc::{Client, RegistryEvent, Server, testing};
    ///
    /// let pair = testing::pair(Server::builder(), Client::builder()).await?;
    /// let registry = pair.server.registry().expect("a server's session").clone();
    /// let mut events = registry.events();
    /// pair.client.close().await;
    /// match events.recv().await? {
    ///     RegistryEvent::Left { id, reason, .. } => {
    ///         assert_eq!(id, pair.server.id());
    ///         println!("session {id} left: {reason}");
    ///     }
    ///     other => panic!("unexpected {other:?}"),
    /// }
    /// assert!(registry.is_empty());
    /// # Ok(())
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(example()).unwrap();
    /// ```
    pub fn events(&self) -> RegistryEvents {
        RegistryEvents::new(self.inner.events.subscribe())
    }

    /// Waits until the session `id` has left the registry (at once if it
    /// is not in it). Robust to lag: it checks the registry again whenever
    /// events were missed.
    pub async fn departed(&self, id: u64) {
        let mut events = self.events();
        while self.contains(id) {
            match events.recv().await {
                Ok(RegistryEvent::Left { id: left, .. }) if left == id => return,
                Err(EventsError::Closed) => return,
                Ok(_) | Err(EventsError::Lagged { .. }) => {}
            }
        }
    }
}

/// Queues one encoded frame to each of `sessions` with `options`, without
/// waiting.
pub(crate) fn deliver(
    sessions: &[Arc<Shared>],
    frame: &Bytes,
    options: PushOptions,
) -> BroadcastReport {
    let policy = match options.policy {
        PushPolicy::Wait => PushPolicy::Fail,
        policy => policy,
    };
    let mut report = BroadcastReport::default();
    for shared in sessions {
        let handle = PushHandle::new(shared).with_priority(options.priority);
        match handle.try_push_frame(frame.clone(), policy) {
            Ok(()) => report.reached += 1,
            Err(PushError::Full) => report.full += 1,
            Err(PushError::TooLarge { .. }) => report.too_large += 1,
            Err(_) => report.closed += 1,
        }
    }
    report
}
