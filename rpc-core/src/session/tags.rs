//! A session's tags (`room=rust`, `room=go`, `user=42`): a key may hold
//! several values, so a session can be in many rooms. Few per session
//! (bounded by [`SessionConfig::max_tags`](crate::SessionConfig::max_tags)),
//! so a small vector.
//!
//! On a server the registry indexes every tag. Each change takes the tag
//! lock first and the registry's lock inside it, and so do a session's
//! arrival in the registry and its departure: the index then always agrees
//! with the tags, and a change made after the session left touches only
//! the tags.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{Session, Shared};
use crate::{
    config::SessionConfig,
    protocol::ErrorCode,
    push::{Registry, TagChange},
    router::HandlerError,
};

/// Why a tag was refused: a peer that drives `join` through a handler
/// must not grow a session without bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TagError {
    /// The session holds [`SessionConfig::max_tags`] tags already.
    #[error("the session holds {max} tags already, the most it may")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// Key and value together are longer than
    /// [`SessionConfig::max_tag_len`].
    #[error("a tag of {len} bytes exceeds the limit of {max} bytes")]
    TooLong {
        /// Bytes of the key and the value.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// A refused tag answers the call as an application error with the
/// refusal as its message, so `?` works in a handler.
impl From<TagError> for HandlerError {
    fn from(err: TagError) -> Self {
        HandlerError::new(ErrorCode::APPLICATION, err.to_string())
    }
}

#[derive(Debug, Default)]
struct State {
    pairs: Vec<(String, String)>,
    /// Whether the registry indexes these tags: from the session's arrival
    /// to its departure.
    indexed: bool,
}

#[derive(Debug, Default)]
pub(super) struct Tags(Mutex<State>);

impl Tags {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Enters the session in `registry`, with its tags.
    pub(super) fn register(&self, registry: &Registry, shared: &Arc<Shared>) {
        let mut state = self.lock();
        registry.insert(shared, &state.pairs);
        state.indexed = true;
    }

    /// Takes the session out of `registry`, with its tags.
    pub(super) fn unregister(&self, registry: &Registry, shared: &Shared) {
        let mut state = self.lock();
        state.indexed = false;
        registry.remove(shared, &state.pairs);
    }

    pub(super) fn pairs(&self) -> Vec<(String, String)> {
        self.lock().pairs.clone()
    }

    pub(super) fn contains(&self, key: &str, value: &str) -> bool {
        self.lock()
            .pairs
            .iter()
            .any(|(k, v)| k == key && v == value)
    }
}

impl Shared {
    /// Applies one change to the tags under their lock, and to the
    /// registry's index when the session is in it. `change` edits the pairs
    /// and returns what it removed and whether it added `(key, value)`.
    fn retag<R>(
        &self,
        key: &str,
        value: &str,
        change: impl FnOnce(&mut Vec<(String, String)>) -> (Vec<(String, String)>, bool, R),
    ) -> R {
        let mut state = self.tags.lock();
        let (removed, added, result) = change(&mut state.pairs);
        if state.indexed
            && (added || !removed.is_empty())
            && let Some(registry) = &self.registry
        {
            registry.retag(
                self.id,
                &TagChange {
                    removed: &removed,
                    added: added.then_some((key, value)),
                },
            );
        }
        result
    }
}

/// Checks that one more tag `key=value` fits, `freed` tags being removed
/// by the same change.
fn admit(
    config: &SessionConfig,
    held: usize,
    freed: usize,
    key: &str,
    value: &str,
) -> Result<(), TagError> {
    let len = key.len() + value.len();
    if len > config.max_tag_len {
        return Err(TagError::TooLong {
            len,
            max: config.max_tag_len,
        });
    }
    if held - freed >= config.max_tags {
        return Err(TagError::TooMany {
            max: config.max_tags,
        });
    }
    Ok(())
}

/// Tags: which rooms, users or groups the session belongs to. On a server
/// the [`Registry`] indexes them, for look-ups and broadcasts by
/// [`Audience::Tag`](crate::Audience::Tag).
impl Session {
    /// Adds `value` to the values of tag `key`, keeping the others: the
    /// session joins a room and stays in the rooms it was in. Returns
    /// whether the session was not yet tagged `key=value`.
    ///
    /// # Errors
    ///
    /// [`TagError::TooMany`] when the session holds
    /// [`max_tags`](crate::SessionConfig::max_tags) tags already,
    /// [`TagError::TooLong`] when key and value are longer than
    /// [`max_tag_len`](crate::SessionConfig::max_tag_len).
    ///
    /// # Example
    ///
    /// ```
    /// # extern crate rpc_core as rpc;
    /// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
    /// use rpc::{Client, Server, testing};
    ///
    /// let pair = testing::pair(Server::builder(), Client::builder()).await?;
    /// let session = &pair.server;
    /// session.join("room", "rust")?;
    /// session.join("room", "go")?;
    /// assert_eq!(session.tag_values("room"), ["rust", "go"]);
    /// session.leave("room", "rust");
    /// assert_eq!(session.tag_values("room"), ["go"]);
    /// # Ok(())
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(example()).unwrap();
    /// ```
    pub fn join(&self, key: impl Into<String>, value: impl Into<String>) -> Result<bool, TagError> {
        let (key, value) = (key.into(), value.into());
        let config = &self.shared.config;
        self.shared.retag(&key, &value, |pairs| {
            if pairs.iter().any(|(k, v)| *k == key && *v == value) {
                return (Vec::new(), false, Ok(false));
            }
            if let Err(err) = admit(config, pairs.len(), 0, &key, &value) {
                return (Vec::new(), false, Err(err));
            }
            pairs.push((key.clone(), value.clone()));
            (Vec::new(), true, Ok(true))
        })
    }

    /// Removes the value `value` of tag `key`, keeping its other values:
    /// the session leaves one room. Returns whether it was tagged so.
    pub fn leave(&self, key: &str, value: &str) -> bool {
        self.shared.retag(key, value, |pairs| {
            let removed = take(pairs, |k, v| k == key && v == value);
            let left = !removed.is_empty();
            (removed, false, left)
        })
    }

    /// Tags the session `key=value`, replacing every earlier value of
    /// `key`: for a tag that holds one value (`user=42`).
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join); a refused tag leaves the earlier values.
    pub fn tag(&self, key: impl Into<String>, value: impl Into<String>) -> Result<(), TagError> {
        let (key, value) = (key.into(), value.into());
        let config = &self.shared.config;
        self.shared.retag(&key, &value, |pairs| {
            let others = pairs
                .iter()
                .filter(|(k, v)| *k == key && *v != value)
                .count();
            let kept = pairs.iter().any(|(k, v)| *k == key && *v == value);
            if !kept && let Err(err) = admit(config, pairs.len(), others, &key, &value) {
                return (Vec::new(), false, Err(err));
            }
            let removed = take(pairs, |k, v| k == key && v != value);
            if !kept {
                pairs.push((key.clone(), value.clone()));
            }
            (removed, !kept, Ok(()))
        })
    }

    /// Removes every value of tag `key`. Returns how many there were.
    pub fn untag(&self, key: &str) -> usize {
        self.shared.retag(key, "", |pairs| {
            let removed = take(pairs, |k, _| k == key);
            let count = removed.len();
            (removed, false, count)
        })
    }

    /// The values of tag `key`, in the order they were added.
    pub fn tag_values(&self, key: &str) -> Vec<String> {
        self.shared
            .tags
            .lock()
            .pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether the session is tagged `key=value`.
    pub fn has_tag(&self, key: &str, value: &str) -> bool {
        self.shared.tags.contains(key, value)
    }

    /// Every tag of the session, as `(key, value)` pairs in the order they
    /// were added.
    pub fn tags(&self) -> Vec<(String, String)> {
        self.shared.tags.pairs()
    }
}

/// Removes the pairs `remove` selects, and returns them.
fn take(
    pairs: &mut Vec<(String, String)>,
    mut remove: impl FnMut(&str, &str) -> bool,
) -> Vec<(String, String)> {
    pairs.extract_if(.., |(k, v)| remove(k, v)).collect()
}
