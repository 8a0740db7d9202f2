//! A session's tags (`room=rust`, `user=42`): few, so a small vector.

use std::sync::{Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
pub(super) struct Tags(Mutex<Vec<(String, String)>>);

impl Tags {
    fn lock(&self) -> MutexGuard<'_, Vec<(String, String)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn set(&self, key: String, value: String) {
        let mut tags = self.lock();
        match tags.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => tags.push((key, value)),
        }
    }

    pub(super) fn remove(&self, key: &str) {
        self.lock().retain(|(k, _)| k != key);
    }

    pub(super) fn get(&self, key: &str) -> Option<String> {
        self.lock()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
}
