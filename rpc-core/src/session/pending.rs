//! The table of this side's calls that await an answer, and the session's
//! timer for their deadlines.
//!
//! Calls made with the session's default timeout reach their deadlines in
//! the order they were made, so one timer per session serves them all: a
//! queue of deadlines, and a sleep until the first. A call with a timeout
//! of its own, or one whose deadline would come before the queue's last
//! (it waited for a slot, or raced another thread), keeps a timer of its
//! own. A timer per call cost a registration and a removal in the
//! runtime's timer wheel: a tenth of a microsecond, a fifteenth of a small
//! call's client side.

use std::{collections::VecDeque, convert::Infallible, sync::Mutex};

use bytes::Bytes;
use rustc_hash::FxHashMap;
use tokio::{sync::oneshot, time::Instant};

use crate::{
    error::{CloseReason, RemoteError},
    signal::Signal,
};

/// How a pending call ended.
#[derive(Debug)]
pub(crate) enum Answer {
    Value(Bytes),
    Failed(RemoteError),
    Closed(CloseReason),
    /// Its deadline, which the session's timer watched, passed.
    Expired,
}

#[derive(Debug, Default)]
struct State {
    /// Set once the session closes; later registrations fail at once.
    closed: Option<CloseReason>,
    /// Keyed by ids this side picks in sequence: a fast hash is safe, and
    /// `SipHash` cost a tenth of a microsecond per call.
    waiting: FxHashMap<u64, oneshot::Sender<Answer>>,
    /// The deadlines the session's timer watches, in order. Entries of
    /// calls that ended are dropped from the front as it reaches them, and
    /// all at once when they outnumber the waiting calls (one slow call at
    /// the front must not make the queue grow with every call behind it).
    deadlines: VecDeque<(Instant, u64)>,
    /// When the timer wakes next; `None` while it waits for a deadline.
    armed: Option<Instant>,
}

impl State {
    /// Drops the entries of ended calls from the front of the queue.
    fn trim(&mut self) {
        while let Some(&(_, id)) = self.deadlines.front() {
            if self.waiting.contains_key(&id) {
                break;
            }
            self.deadlines.pop_front();
        }
        if self.deadlines.len() > 2 * self.waiting.len() + SLACK {
            let waiting = &self.waiting;
            self.deadlines.retain(|(_, id)| waiting.contains_key(id));
        }
    }

    /// Removes call `id`; its sender, if it still waited.
    fn remove(&mut self, id: u64) -> Option<oneshot::Sender<Answer>> {
        let sender = self.waiting.remove(&id);
        if sender.is_some() {
            self.trim();
        }
        sender
    }
}

/// Entries of ended calls the queue may hold beyond twice the waiting
/// ones before it is swept whole.
const SLACK: usize = 32;

/// Waiting callers by call id. The lock is never held across an await.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    state: Mutex<State>,
    /// Rung when a deadline is queued while the timer waits for one.
    queued: Signal,
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
    /// With `watch`, the session's timer watches that deadline if it can
    /// (`true` then): the call is answered [`Answer::Expired`] once it
    /// passes. Otherwise the caller keeps the time itself.
    pub(crate) fn register(
        &self,
        id: u64,
        watch: Option<Instant>,
    ) -> Result<(oneshot::Receiver<Answer>, bool), CloseReason> {
        let mut state = self.lock();
        if let Some(reason) = &state.closed {
            return Err(reason.clone());
        }
        let (tx, rx) = oneshot::channel();
        state.waiting.insert(id, tx);
        let Some(deadline) = watch else {
            return Ok((rx, false));
        };
        // In order, and not before the timer's next wake-up.
        let last = state.deadlines.back().map(|&(at, _)| at).max(state.armed);
        if last.is_some_and(|last| deadline < last) {
            return Ok((rx, false));
        }
        state.deadlines.push_back((deadline, id));
        if state.armed.is_none() {
            state.armed = Some(deadline);
            drop(state);
            self.queued.raise();
        }
        Ok((rx, true))
    }

    /// Delivers an answer; gives it back if no call with that id waits (it
    /// timed out or was cancelled, or the peer made the id up).
    pub(crate) fn complete(&self, id: u64, answer: Answer) -> Result<(), Answer> {
        let sender = self.lock().remove(id);
        match sender {
            Some(tx) => tx.send(answer),
            None => Err(answer),
        }
    }

    /// Stops waiting for a call; `true` if it was still waiting.
    pub(crate) fn forget(&self, id: u64) -> bool {
        self.lock().remove(id).is_some()
    }

    /// Resolves every waiting call with `reason` and refuses new ones.
    pub(crate) fn close(&self, reason: &CloseReason) {
        let waiting = {
            let mut state = self.lock();
            state.closed.get_or_insert_with(|| reason.clone());
            state.deadlines = VecDeque::new();
            std::mem::take(&mut state.waiting)
        };
        for (_, tx) in waiting {
            let _ = tx.send(Answer::Closed(reason.clone()));
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().waiting.len()
    }

    /// The session's timer: answers each watched call whose deadline
    /// passed, and hands its id to `cancel` (whether or not its caller is
    /// still there to see the answer). Runs until the session ends (it is
    /// dropped then).
    pub(crate) async fn watch_deadlines(&self, cancel: impl Fn(u64)) -> Infallible {
        let mut next = None;
        loop {
            match next {
                None => self.queued.take().await,
                Some(at) => tokio::time::sleep_until(at).await,
            }
            next = self.expire(Instant::now(), &cancel);
        }
    }

    /// Answers the watched calls due by `now` and cancels them; when the
    /// timer wakes next.
    fn expire(&self, now: Instant, cancel: &impl Fn(u64)) -> Option<Instant> {
        let mut expired = Vec::new();
        let armed = {
            let mut state = self.lock();
            while let Some(&(at, id)) = state.deadlines.front() {
                if at > now {
                    break;
                }
                state.deadlines.pop_front();
                if let Some(tx) = state.waiting.remove(&id) {
                    let _ = tx.send(Answer::Expired);
                    expired.push(id);
                }
            }
            state.trim();
            state.armed = state.deadlines.front().map(|&(at, _)| at);
            state.armed
        };
        // Outside the lock: cancelling queues a frame.
        for id in expired {
            cancel(id);
        }
        armed
    }

    #[cfg(test)]
    fn queued(&self) -> usize {
        self.lock().deadlines.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn closing_resolves_every_waiting_call_and_refuses_new_ones() {
        let pending = Pending::default();
        let (mut first, _) = pending.register(1, None).unwrap();
        let (mut second, _) = pending.register(2, Some(Instant::now())).unwrap();
        pending.close(&CloseReason::local(1000, "bye"));
        assert!(matches!(first.try_recv(), Ok(Answer::Closed(r)) if r.reason == "bye"));
        assert!(matches!(second.try_recv(), Ok(Answer::Closed(_))));
        assert_eq!(pending.register(3, None).unwrap_err().reason, "bye");
        assert_eq!(pending.len(), 0);
        assert_eq!(pending.queued(), 0);
    }

    #[test]
    fn an_unknown_id_is_not_delivered() {
        let pending = Pending::default();
        assert!(pending.complete(9, Answer::Value(Bytes::new())).is_err());
        let _rx = pending.register(9, None).unwrap();
        assert!(pending.forget(9));
        assert!(matches!(
            pending.complete(9, Answer::Value(Bytes::new())),
            Err(Answer::Value(_))
        ));
    }

    #[test]
    fn the_timer_watches_deadlines_in_order_and_leaves_the_rest_to_their_callers() {
        let pending = Pending::default();
        let now = Instant::now();
        let second = Duration::from_secs(1);
        let (mut early, watched) = pending.register(1, Some(now + second)).unwrap();
        assert!(watched);
        let (mut late, watched) = pending.register(2, Some(now + 3 * second)).unwrap();
        assert!(watched);
        // Before the last watched deadline: its caller keeps the time.
        let (_, watched) = pending.register(3, Some(now + 2 * second)).unwrap();
        assert!(!watched);

        let cancelled = std::cell::RefCell::new(Vec::new());
        let cancel = |id| cancelled.borrow_mut().push(id);
        assert_eq!(pending.expire(now, &cancel), Some(now + second));
        assert!(early.try_recv().is_err(), "not due yet");
        assert_eq!(
            pending.expire(now + second, &cancel),
            Some(now + 3 * second)
        );
        assert!(matches!(early.try_recv(), Ok(Answer::Expired)));
        assert_eq!(*cancelled.borrow(), [1]);
        assert!(late.try_recv().is_err());
        assert!(pending.complete(2, Answer::Value(Bytes::new())).is_ok());
        assert!(matches!(late.try_recv(), Ok(Answer::Value(_))));
        // The answered call's entry is gone; the timer has nothing to wait for.
        assert_eq!(pending.expire(now + second, &cancel), None);
        assert_eq!(
            *cancelled.borrow(),
            [1],
            "only the expired call is cancelled"
        );
        assert_eq!(pending.len(), 1, "call 3 still waits, on its own timer");
    }

    #[test]
    fn one_call_stuck_at_the_front_does_not_grow_the_queue_with_the_calls_behind_it() {
        let pending = Pending::default();
        let at = Instant::now() + Duration::from_secs(30);
        let _stuck = pending.register(1, Some(at)).unwrap();
        for id in 2..10_000 {
            let _call = pending.register(id, Some(at)).unwrap();
            assert!(pending.complete(id, Answer::Value(Bytes::new())).is_ok());
        }
        assert!(
            pending.queued() <= 2 + SLACK,
            "the queue holds {} deadlines for 1 waiting call",
            pending.queued()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_timer_answers_a_call_at_its_deadline_and_sleeps_while_none_waits() {
        let pending = std::sync::Arc::new(Pending::default());
        let timer = tokio::spawn({
            let pending = std::sync::Arc::clone(&pending);
            async move { pending.watch_deadlines(|_| {}).await }
        });
        let started = Instant::now();
        let (answer, watched) = pending
            .register(1, Some(started + Duration::from_secs(5)))
            .unwrap();
        assert!(watched);
        assert!(matches!(answer.await, Ok(Answer::Expired)));
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        // Idle again: a later call is watched too.
        let (answer, _) = pending
            .register(2, Some(Instant::now() + Duration::from_secs(7)))
            .unwrap();
        assert!(matches!(answer.await, Ok(Answer::Expired)));
        assert_eq!(started.elapsed(), Duration::from_secs(12));
        timer.abort();
    }
}
