//! The registry of a server's live sessions: look-up by id, identity or tag,
//! and broadcast. It holds weak references only, and a session leaves it
//! when it ends.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak},
};

use serde::Serialize;

use super::{PushError, PushHandle, PushPolicy, encode_push};
use crate::session::Shared;

/// Which sessions a look-up or broadcast concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Audience<'a> {
    /// Every live session.
    All,
    /// Sessions tagged `key=value` ([`Session::tag`](crate::Session::tag)).
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
}

/// The live sessions of a server. Cheap to clone; every clone sees the same
/// sessions.
#[derive(Clone, Default)]
pub struct Registry {
    sessions: Arc<RwLock<HashMap<u64, Weak<Shared>>>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("sessions", &self.len())
            .finish()
    }
}

impl Registry {
    fn read(&self) -> RwLockReadGuard<'_, HashMap<u64, Weak<Shared>>> {
        self.sessions.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<u64, Weak<Shared>>> {
        self.sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn insert(&self, shared: &Arc<Shared>) {
        self.write().insert(shared.id(), Arc::downgrade(shared));
    }

    pub(crate) fn remove(&self, id: u64) {
        self.write().remove(&id);
    }

    /// Sessions registered now.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no session is registered.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// The session with this id, while it lives.
    pub fn get(&self, id: u64) -> Option<PushHandle> {
        let shared = self.read().get(&id)?.upgrade()?;
        (!shared.is_closing()).then(|| PushHandle::new(&shared))
    }

    /// Handles to every live session in `audience`.
    pub fn find(&self, audience: Audience<'_>) -> Vec<PushHandle> {
        self.matching(audience)
            .iter()
            .map(PushHandle::new)
            .collect()
    }

    fn matching(&self, audience: Audience<'_>) -> Vec<Arc<Shared>> {
        self.read()
            .values()
            .filter_map(Weak::upgrade)
            .filter(|shared| !shared.is_closing() && shared.matches(audience))
            .collect()
    }

    /// Pushes one notification to every session in `audience`, encoding it
    /// once. Never waits: a full queue counts as `full` and its push goes to
    /// the dead-letter queue, if there is one.
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
        let frame = encode_push(topic, value)?;
        let mut report = BroadcastReport::default();
        for shared in self.matching(audience) {
            match PushHandle::new(&shared).try_push_frame(frame.clone(), PushPolicy::Fail) {
                Ok(()) => report.reached += 1,
                Err(PushError::Full) => report.full += 1,
                Err(PushError::TooLarge { .. }) => report.too_large += 1,
                Err(_) => report.closed += 1,
            }
        }
        Ok(report)
    }
}
