//! The registry's tables: sessions by id, and the indexes that make look-ups
//! by tag and by identity cost the size of the answer, not the number of
//! sessions. Plain data, generic over what a session entry is, so it is
//! tested without sessions.

use std::collections::{HashMap, HashSet};

use super::Audience;

/// One change to a session's tags, as the registry indexes it.
#[derive(Debug)]
pub(crate) struct TagChange<'a> {
    /// Tags the session no longer has.
    pub(crate) removed: &'a [(String, String)],
    /// A tag it has now.
    pub(crate) added: Option<(&'a str, &'a str)>,
}

/// Sessions by id, ids by tag (`key -> value -> ids`, so that a look-up
/// borrows its `&str`s) and ids by identity subject. An id is in an index
/// exactly while its session is registered with that tag or subject; empty
/// sets and maps are removed, so the indexes hold nothing once every
/// session has left.
#[derive(Debug)]
pub(super) struct Index<T> {
    sessions: HashMap<u64, T>,
    tags: HashMap<String, HashMap<String, HashSet<u64>>>,
    subjects: HashMap<String, HashSet<u64>>,
}

impl<T> Default for Index<T> {
    fn default() -> Self {
        Self {
            sessions: HashMap::new(),
            tags: HashMap::new(),
            subjects: HashMap::new(),
        }
    }
}

impl<T> Index<T> {
    pub(super) fn insert(
        &mut self,
        id: u64,
        entry: T,
        subject: Option<&str>,
        tags: &[(String, String)],
    ) {
        self.sessions.insert(id, entry);
        if let Some(subject) = subject {
            self.subjects
                .entry(subject.to_owned())
                .or_default()
                .insert(id);
        }
        for (key, value) in tags {
            self.add_tag(id, key, value);
        }
    }

    pub(super) fn remove(
        &mut self,
        id: u64,
        subject: Option<&str>,
        tags: &[(String, String)],
    ) -> Option<T> {
        let entry = self.sessions.remove(&id)?;
        if let Some(subject) = subject {
            forget(&mut self.subjects, subject, id);
        }
        for (key, value) in tags {
            self.remove_tag(id, key, value);
        }
        Some(entry)
    }

    /// Applies a change to a registered session's tags.
    pub(super) fn retag(&mut self, id: u64, change: &TagChange<'_>) {
        if !self.sessions.contains_key(&id) {
            return;
        }
        for (key, value) in change.removed {
            self.remove_tag(id, key, value);
        }
        if let Some((key, value)) = change.added {
            self.add_tag(id, key, value);
        }
    }

    fn add_tag(&mut self, id: u64, key: &str, value: &str) {
        let values = match self.tags.get_mut(key) {
            Some(values) => values,
            None => self.tags.entry(key.to_owned()).or_default(),
        };
        match values.get_mut(value) {
            Some(ids) => {
                ids.insert(id);
            }
            None => {
                values.insert(value.to_owned(), HashSet::from([id]));
            }
        }
    }

    fn remove_tag(&mut self, id: u64, key: &str, value: &str) {
        if let Some(values) = self.tags.get_mut(key) {
            forget(values, value, id);
            if values.is_empty() {
                self.tags.remove(key);
            }
        }
    }

    pub(super) fn get(&self, id: u64) -> Option<&T> {
        self.sessions.get(&id)
    }

    pub(super) fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Calls `each` with every session in `audience`: all of them, or those
    /// one index names.
    pub(super) fn each(&self, audience: Audience<'_>, mut each: impl FnMut(&T)) {
        let ids = match audience {
            Audience::All => return self.sessions.values().for_each(each),
            Audience::Tag(key, value) => self.tags.get(key).and_then(|values| values.get(value)),
            Audience::Identity(subject) => self.subjects.get(subject),
        };
        for id in ids.into_iter().flatten() {
            if let Some(entry) = self.sessions.get(id) {
                each(entry);
            }
        }
    }

    /// Every session with a subject, as `(id, subject)`.
    pub(super) fn subjects(&self) -> Vec<(u64, String)> {
        self.subjects
            .iter()
            .flat_map(|(subject, ids)| ids.iter().map(|id| (*id, subject.clone())))
            .collect()
    }

    /// Distinct `key=value` tags and subjects indexed now.
    pub(super) fn sizes(&self) -> (usize, usize) {
        (
            self.tags.values().map(HashMap::len).sum(),
            self.subjects.len(),
        )
    }
}

/// Takes `id` out of the set under `name`, and the set once it is empty.
fn forget(sets: &mut HashMap<String, HashSet<u64>>, name: &str, id: u64) {
    if let Some(ids) = sets.get_mut(name) {
        ids.remove(&id);
        if ids.is_empty() {
            sets.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(tags: &[(&str, &str)]) -> Vec<(String, String)> {
        tags.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn ids(index: &Index<u64>, audience: Audience<'_>) -> Vec<u64> {
        let mut ids = Vec::new();
        index.each(audience, |id| ids.push(*id));
        ids.sort_unstable();
        ids
    }

    #[test]
    fn a_session_is_found_under_each_of_its_values_and_by_subject() {
        let mut index = Index::default();
        index.insert(
            1,
            1,
            Some("alice"),
            &pairs(&[("room", "rust"), ("room", "go")]),
        );
        index.insert(2, 2, Some("bob"), &pairs(&[("room", "rust")]));
        index.insert(3, 3, None, &[]);
        assert_eq!(ids(&index, Audience::Tag("room", "rust")), [1, 2]);
        assert_eq!(ids(&index, Audience::Tag("room", "go")), [1]);
        assert_eq!(ids(&index, Audience::Tag("room", "c")), [0u64; 0]);
        assert_eq!(ids(&index, Audience::Identity("bob")), [2]);
        assert_eq!(ids(&index, Audience::All), [1, 2, 3]);
        assert_eq!(index.sizes(), (2, 2));
    }

    #[test]
    fn changes_move_a_session_between_values_and_departures_empty_the_indexes() {
        let mut index = Index::default();
        index.insert(1, 1, Some("alice"), &[]);
        let rust = pairs(&[("room", "rust")]);
        index.retag(
            1,
            &TagChange {
                removed: &[],
                added: Some(("room", "rust")),
            },
        );
        index.retag(
            1,
            &TagChange {
                removed: &rust,
                added: Some(("room", "go")),
            },
        );
        assert_eq!(ids(&index, Audience::Tag("room", "rust")), [0u64; 0]);
        assert_eq!(ids(&index, Audience::Tag("room", "go")), [1]);
        // A change for a session that has left is ignored.
        index.remove(1, Some("alice"), &pairs(&[("room", "go")]));
        index.retag(
            1,
            &TagChange {
                removed: &[],
                added: Some(("room", "c")),
            },
        );
        assert_eq!(index.sizes(), (0, 0));
        assert_eq!(index.len(), 0);
        assert!(index.tags.is_empty() && index.subjects.is_empty());
    }
}
