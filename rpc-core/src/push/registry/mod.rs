//! The registry of a server's live sessions: look-up by id, identity or tag,
//! broadcast, and arrival and departure events. It holds weak references
//! only, indexes sessions by tag and by identity subject so that a look-up
//! costs the size of its answer, and a session leaves it, and every index,
//! when it ends. `fanout` holds broadcast and pushes to a session of any
//! node; `index` the tables; `events` arrivals and departures; `handle`
//! what a look-up returns.

mod events;
mod fanout;
mod handle;
mod index;

pub use events::{EventsError, RegistryEvent, RegistryEvents};
pub use fanout::BroadcastReport;
pub(crate) use fanout::deliver;
pub use handle::SessionHandle;
pub(crate) use index::TagChange;

use std::{
    fmt,
    sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak},
};

use tokio::sync::broadcast;

use super::{ClusterHandle, Node};
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
