//! The table of recent operations, without I/O: which ones run, which
//! ones have ended and with what answer, and the three bounds (entries,
//! bytes of kept answers, time since the answer) that cap what a peer can
//! make the server remember.

use std::{
    collections::{HashMap, VecDeque, hash_map},
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use tokio::time::Instant;

use crate::protocol::ErrorCode;

/// Whose operation: the caller's authenticated subject (`None` for an
/// anonymous session) and the operation id. One user cannot reach
/// another's answers by guessing its ids.
pub(super) type Key = (Option<Arc<str>>, u128);

/// The method an operation was first called as (router and method index):
/// a retry must call the same one.
pub(super) type Method = (usize, usize);

/// How much the table keeps.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Entries, running or ended.
    pub(super) entries: usize,
    /// Bytes of kept answers.
    pub(super) bytes: usize,
    /// How long an ended operation is remembered.
    pub(super) ttl: Duration,
}

/// An ended operation's answer, kept to be sent again under another call id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Answer {
    /// The value of a reply frame, without its header.
    Value(Bytes),
    /// An error frame's code, message and data.
    Error {
        code: ErrorCode,
        message: Arc<str>,
        data: Bytes,
    },
    /// The handler answered nothing (a hand-written router may).
    Nothing,
}

impl Answer {
    /// Bytes it holds, as counted against [`Limits::bytes`].
    pub(super) fn size(&self) -> usize {
        match self {
            Self::Value(value) => value.len(),
            Self::Error { message, data, .. } => message.len() + data.len(),
            Self::Nothing => 0,
        }
    }
}

/// One operation. `R` is what calls of a running operation wait on.
#[derive(Debug)]
enum Entry<R> {
    Running {
        run: Arc<R>,
        method: Method,
    },
    /// Ended; the answer is `None` once it was too large to keep or was
    /// pushed out by newer ones: the operation is still not run again.
    Ended {
        answer: Option<Answer>,
        method: Method,
    },
}

/// What a call naming an operation finds.
#[derive(Debug)]
pub(super) enum Found<R> {
    /// Unknown: the caller runs it, and [`Table::end`]s it with `run`.
    New(Arc<R>),
    /// Running: wait on `run`.
    Running(Arc<R>),
    /// Ended with this answer, or `None`: the answer is gone.
    Ended(Option<Answer>),
    /// Known as a call of another method.
    OtherMethod,
    /// Every entry is a running operation: none can make room.
    Full,
}

/// Recent operations and their answers.
#[derive(Debug)]
pub(super) struct Table<R> {
    limits: Limits,
    entries: HashMap<Key, Entry<R>>,
    /// Ended operations, oldest first, with when they ended: expiry and the
    /// entry bound remove from the front.
    ended: VecDeque<(Key, Instant)>,
    /// Ended operations still holding an answer, oldest first: the byte
    /// bound drops answers from the front. In the same order as `ended`, of
    /// which it is a part, so the front of `ended`, if it holds an answer,
    /// is the front of `kept` too.
    kept: VecDeque<Key>,
    /// Bytes of the answers in `kept`.
    bytes: usize,
}

impl<R> Table<R> {
    pub(super) fn new(limits: Limits) -> Self {
        Self {
            limits,
            entries: HashMap::new(),
            ended: VecDeque::new(),
            kept: VecDeque::new(),
            bytes: 0,
        }
    }

    /// Looks `key` up as a call of `method` at `now`; an unknown key is
    /// entered as running `make()`, making room by forgetting the oldest
    /// ended operation if need be.
    pub(super) fn find(
        &mut self,
        key: Key,
        method: Method,
        now: Instant,
        make: impl FnOnce() -> R,
    ) -> Found<R> {
        self.expire(now);
        if let Some(entry) = self.entries.get(&key) {
            return match entry {
                Entry::Running { method: m, .. } | Entry::Ended { method: m, .. }
                    if *m != method =>
                {
                    Found::OtherMethod
                }
                Entry::Running { run, .. } => Found::Running(Arc::clone(run)),
                Entry::Ended { answer, .. } => Found::Ended(answer.clone()),
            };
        }
        if self.entries.len() >= self.limits.entries && !self.forget_oldest() {
            return Found::Full;
        }
        let run = Arc::new(make());
        self.entries.insert(
            key,
            Entry::Running {
                run: Arc::clone(&run),
                method,
            },
        );
        Found::New(run)
    }

    /// Records that the operation `run` of `key` ended with `answer` at
    /// `now`. An answer larger than the byte bound is not kept; others push
    /// out the oldest kept answers until they fit. Nothing happens if `key`
    /// no longer stands for `run` (it was forgotten).
    pub(super) fn end(&mut self, key: &Key, run: &Arc<R>, answer: Answer, now: Instant) {
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        let Entry::Running { run: own, method } = entry else {
            return;
        };
        if !Arc::ptr_eq(own, run) {
            return;
        }
        let method = *method;
        let size = answer.size();
        let answer = (size <= self.limits.bytes).then_some(answer);
        let kept = answer.is_some();
        *entry = Entry::Ended { answer, method };
        if kept {
            while self.bytes + size > self.limits.bytes && self.drop_oldest_answer() {}
            self.bytes += size;
            self.kept.push_back(key.clone());
        }
        self.ended.push_back((key.clone(), now));
    }

    /// Removes the running operation `run` of `key` if `still` holds under
    /// the table's lock: a run that stops without an answer.
    pub(super) fn forget_running(
        &mut self,
        key: &Key,
        run: &Arc<R>,
        still: impl FnOnce(&R) -> bool,
    ) -> bool {
        let hash_map::Entry::Occupied(entry) = self.entries.entry(key.clone()) else {
            return false;
        };
        match entry.get() {
            Entry::Running { run: own, .. } if Arc::ptr_eq(own, run) && still(own) => {
                entry.remove();
                true
            }
            _ => false,
        }
    }

    /// Forgets ended operations older than the time bound.
    fn expire(&mut self, now: Instant) {
        while let Some((_, ended)) = self.ended.front() {
            if now.saturating_duration_since(*ended) < self.limits.ttl {
                break;
            }
            self.forget_oldest();
        }
    }

    /// Forgets the operation that ended first; `false` if none has ended.
    fn forget_oldest(&mut self) -> bool {
        let Some((key, _)) = self.ended.pop_front() else {
            return false;
        };
        if let Some(Entry::Ended {
            answer: Some(answer),
            ..
        }) = self.entries.remove(&key)
        {
            // The oldest ended entry with an answer is `kept`'s front.
            debug_assert!(self.kept.front() == Some(&key));
            self.kept.pop_front();
            self.bytes -= answer.size();
        }
        true
    }

    /// Drops the oldest kept answer, keeping its entry: a retry then learns
    /// that the answer is gone instead of running the operation again.
    fn drop_oldest_answer(&mut self) -> bool {
        let Some(key) = self.kept.pop_front() else {
            return false;
        };
        if let Some(Entry::Ended { answer, .. }) = self.entries.get_mut(&key)
            && let Some(answer) = answer.take()
        {
            self.bytes -= answer.size();
        }
        true
    }

    /// Entries, running or ended.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METHOD: Method = (0, 0);

    fn limits() -> Limits {
        Limits {
            entries: 3,
            bytes: 10,
            ttl: Duration::from_secs(60),
        }
    }

    fn key(id: u128) -> Key {
        (None, id)
    }

    fn value(len: usize) -> Answer {
        Answer::Value(Bytes::from(vec![7; len]))
    }

    /// Enters `id` and ends it with `answer` at `now`.
    fn ended(table: &mut Table<()>, id: u128, answer: Answer, now: Instant) {
        let Found::New(run) = table.find(key(id), METHOD, now, || ()) else {
            panic!("operation {id} is new");
        };
        table.end(&key(id), &run, answer, now);
    }

    #[test]
    fn a_new_operation_runs_then_its_answer_is_found() {
        let now = Instant::now();
        let mut table = Table::new(limits());
        let Found::New(run) = table.find(key(1), METHOD, now, || ()) else {
            panic!("new");
        };
        assert!(matches!(
            table.find(key(1), METHOD, now, || ()),
            Found::Running(same) if Arc::ptr_eq(&same, &run)
        ));
        table.end(&key(1), &run, value(4), now);
        assert!(matches!(
            table.find(key(1), METHOD, now, || ()),
            Found::Ended(Some(answer)) if answer == value(4)
        ));
    }

    #[test]
    fn subjects_and_methods_keep_operations_apart() {
        let now = Instant::now();
        let mut table = Table::new(limits());
        ended(&mut table, 1, value(1), now);
        let alice = (Some(Arc::from("alice")), 1);
        assert!(matches!(
            table.find(alice, METHOD, now, || ()),
            Found::New(_)
        ));
        assert!(matches!(
            table.find(key(1), (0, 1), now, || ()),
            Found::OtherMethod
        ));
    }

    #[test]
    fn ended_operations_expire_oldest_first() {
        let start = Instant::now();
        let mut table = Table::new(limits());
        ended(&mut table, 1, value(1), start);
        ended(&mut table, 2, value(1), start + Duration::from_secs(30));
        let later = start + Duration::from_secs(60);
        assert!(matches!(
            table.find(key(2), METHOD, later, || ()),
            Found::Ended(Some(_))
        ));
        assert!(matches!(
            table.find(key(1), METHOD, later, || ()),
            Found::New(_)
        ));
        assert_eq!(table.bytes, 1);
    }

    #[test]
    fn the_entry_bound_forgets_the_oldest_ended_never_a_running_one() {
        let now = Instant::now();
        let mut table = Table::new(limits());
        let Found::New(_running) = table.find(key(1), METHOD, now, || ()) else {
            panic!("new");
        };
        ended(&mut table, 2, value(2), now);
        ended(&mut table, 3, value(3), now);
        ended(&mut table, 4, value(4), now);
        assert_eq!(table.len(), 3);
        assert_eq!(table.bytes, 7);
        assert!(matches!(
            table.find(key(1), METHOD, now, || ()),
            Found::Running(_)
        ));
        assert!(matches!(
            table.find(key(3), METHOD, now, || ()),
            Found::Ended(Some(_))
        ));

        let mut full = Table::new(limits());
        for id in 1..=3 {
            assert!(matches!(
                full.find(key(id), METHOD, now, || ()),
                Found::New(_)
            ));
        }
        assert!(matches!(full.find(key(4), METHOD, now, || ()), Found::Full));
    }

    #[test]
    fn the_byte_bound_drops_old_answers_and_skips_one_too_large_but_keeps_the_entries() {
        let now = Instant::now();
        let mut table = Table::new(limits());
        ended(&mut table, 1, value(11), now);
        assert!(matches!(
            table.find(key(1), METHOD, now, || ()),
            Found::Ended(None)
        ));
        assert_eq!(table.bytes, 0);

        ended(&mut table, 2, value(6), now);
        ended(&mut table, 3, value(6), now);
        assert_eq!(table.bytes, 6);
        assert!(matches!(
            table.find(key(2), METHOD, now, || ()),
            Found::Ended(None)
        ));
        assert!(matches!(
            table.find(key(3), METHOD, now, || ()),
            Found::Ended(Some(_))
        ));
        // Forgetting an entry whose answer was dropped leaves the count right.
        let mut later = Table::new(limits());
        ended(&mut later, 1, value(6), now);
        ended(&mut later, 2, value(6), now);
        ended(&mut later, 3, value(1), now);
        ended(&mut later, 4, value(1), now);
        assert_eq!(later.len(), 3);
        assert_eq!(later.bytes, 8);
    }

    #[test]
    fn a_forgotten_run_cannot_end_its_successor() {
        let now = Instant::now();
        let mut table = Table::new(limits());
        let Found::New(first) = table.find(key(1), METHOD, now, || ()) else {
            panic!("new");
        };
        assert!(!table.forget_running(&key(1), &first, |()| false));
        assert!(table.forget_running(&key(1), &first, |()| true));
        let Found::New(second) = table.find(key(1), METHOD, now, || ()) else {
            panic!("new again");
        };
        table.end(&key(1), &first, value(1), now);
        assert!(matches!(
            table.find(key(1), METHOD, now, || ()),
            Found::Running(run) if Arc::ptr_eq(&run, &second)
        ));
    }
}
