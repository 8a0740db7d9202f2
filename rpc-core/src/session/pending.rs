//! The table of this side's calls that await an answer.

use std::sync::Mutex;

use bytes::Bytes;
use rustc_hash::FxHashMap;
use tokio::sync::oneshot;

use crate::error::{CloseReason, RemoteError};

/// How a pending call ended.
#[derive(Debug)]
pub(crate) enum Answer {
    Value(Bytes),
    Failed(RemoteError),
    Closed(CloseReason),
}

#[derive(Debug, Default)]
struct State {
    /// Set once the session closes; later registrations fail at once.
    closed: Option<CloseReason>,
    /// Keyed by ids this side picks in sequence: a fast hash is safe, and
    /// `SipHash` cost a tenth of a microsecond per call.
    waiting: FxHashMap<u64, oneshot::Sender<Answer>>,
}

/// Waiting callers by call id. The lock is never held across an await.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    state: Mutex<State>,
}

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the map inconsistent
        // (each operation is one insert or remove), so poisoning is ignored.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a call, or reports why the session no longer takes any.
    pub(crate) fn register(&self, id: u64) -> Result<oneshot::Receiver<Answer>, CloseReason> {
        let mut state = self.lock();
        if let Some(reason) = &state.closed {
            return Err(reason.clone());
        }
        let (tx, rx) = oneshot::channel();
        state.waiting.insert(id, tx);
        Ok(rx)
    }

    /// Delivers an answer; `false` if no call with that id waits (it timed
    /// out or was cancelled, or the peer made the id up).
    pub(crate) fn complete(&self, id: u64, answer: Answer) -> bool {
        let sender = self.lock().waiting.remove(&id);
        sender.is_some_and(|tx| tx.send(answer).is_ok())
    }

    /// Stops waiting for a call; `true` if it was still waiting.
    pub(crate) fn forget(&self, id: u64) -> bool {
        self.lock().waiting.remove(&id).is_some()
    }

    /// Resolves every waiting call with `reason` and refuses new ones.
    pub(crate) fn close(&self, reason: &CloseReason) {
        let waiting = {
            let mut state = self.lock();
            state.closed.get_or_insert_with(|| reason.clone());
            std::mem::take(&mut state.waiting)
        };
        for (_, tx) in waiting {
            let _ = tx.send(Answer::Closed(reason.clone()));
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_resolves_every_waiting_call_and_refuses_new_ones() {
        let pending = Pending::default();
        let mut first = pending.register(1).unwrap();
        let mut second = pending.register(2).unwrap();
        pending.close(&CloseReason::local(1000, "bye"));
        assert!(matches!(first.try_recv(), Ok(Answer::Closed(r)) if r.reason == "bye"));
        assert!(matches!(second.try_recv(), Ok(Answer::Closed(_))));
        assert_eq!(pending.register(3).unwrap_err().reason, "bye");
        assert_eq!(pending.len(), 0);
    }

    #[test]
    fn an_unknown_id_is_not_delivered() {
        let pending = Pending::default();
        assert!(!pending.complete(9, Answer::Value(Bytes::new())));
        let _rx = pending.register(9).unwrap();
        assert!(pending.forget(9));
        assert!(!pending.complete(9, Answer::Value(Bytes::new())));
    }
}
