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

use std::{
    collections::{VecDeque, hash_map::Entry},
    convert::Infallible,
    future::poll_fn,
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll, Waker},
};

use bytes::Bytes;
use rustc_hash::FxHashMap;
use tokio::time::Instant;

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

/// A call in the table: waiting, with the waker of its last poll, or
/// answered, until its caller takes the answer. In place of a channel
/// per call: no allocation, and one lock where a channel took several
/// atomic operations on each side.
#[derive(Debug)]
enum Call {
    Waiting(Option<Waker>),
    Answered(Answer),
}

#[derive(Debug, Default)]
struct State {
    /// Set once the session closes; later registrations fail at once.
    closed: Option<CloseReason>,
    /// Keyed by ids this side picks in sequence: a fast hash is safe, and
    /// `SipHash` cost a tenth of a microsecond per call.
    calls: FxHashMap<u64, Call>,
    /// How many of `calls` still wait for their answer.
    waiting: usize,
    /// The deadlines the session's timer watches, in order. An answer
    /// drops its call's entry when it is first (answers mostly come in
    /// order); the timer drops the ended calls' entries it reaches; all go
    /// at once when they outnumber the waiting calls (one slow call at the
    /// front must not make the queue grow with every call behind it).
    deadlines: VecDeque<(Instant, u64)>,
    /// When the timer wakes next; `None` while it waits for a deadline.
    armed: Option<Instant>,
}

impl State {
    fn is_waiting(&self, id: u64) -> bool {
        waits(&self.calls, id)
    }

    /// Drops the entries of ended calls from the front of the queue.
    fn trim(&mut self) {
        while let Some(&(_, id)) = self.deadlines.front() {
            if self.is_waiting(id) {
                break;
            }
            self.deadlines.pop_front();
        }
        self.sweep_if_stale();
    }

    /// Drops every entry of an ended call once they outnumber the waiting
    /// calls twice over: each sweep takes as long as the calls since the
    /// last one.
    fn sweep_if_stale(&mut self) {
        if self.deadlines.len() > 2 * self.waiting + SLACK {
            let calls = &self.calls;
            self.deadlines.retain(|&(_, id)| waits(calls, id));
        }
    }

    /// Answers call `id` if it still waits; the waker to wake then (`Err`
    /// gives the answer back otherwise).
    fn answer(&mut self, id: u64, answer: Answer) -> Result<Option<Waker>, Answer> {
        let Some(entry) = self.calls.get_mut(&id) else {
            return Err(answer);
        };
        let Call::Waiting(waker) = entry else {
            return Err(answer);
        };
        let waker = waker.take();
        *entry = Call::Answered(answer);
        self.waiting -= 1;
        // Answers mostly come in the order of the calls: the first
        // deadline is this call's. Others leave with the next sweep, or as
        // the timer reaches them; no lookups per answer.
        if self
            .deadlines
            .front()
            .is_some_and(|&(_, first)| first == id)
        {
            self.deadlines.pop_front();
        }
        self.sweep_if_stale();
        Ok(waker)
    }
}

/// Whether call `id` is in `calls` and still waits for its answer.
fn waits(calls: &FxHashMap<u64, Call>, id: u64) -> bool {
    matches!(calls.get(&id), Some(Call::Waiting(_)))
}

/// Entries of ended calls the queue may hold beyond twice the waiting
/// ones before it is swept whole.
const SLACK: usize = 32;

/// Waiting callers by call id. The lock is never held across an await.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    state: Mutex<State>,
    /// `state.calls.len()`, stored under the lock whenever it changes, so
    /// that [`entries`](Self::entries), asked once per call, takes no lock.
    entries: AtomicUsize,
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
    /// passes. Otherwise the caller keeps the time itself. The caller then
    /// waits with [`answer`](Self::answer), or [`forget`](Self::forget)s
    /// the call.
    pub(crate) fn register(&self, id: u64, watch: Option<Instant>) -> Result<bool, CloseReason> {
        let mut state = self.lock();
        if let Some(reason) = &state.closed {
            return Err(reason.clone());
        }
        state.calls.insert(id, Call::Waiting(None));
        self.entries.store(state.calls.len(), Ordering::Relaxed);
        state.waiting += 1;
        let Some(deadline) = watch else {
            return Ok(false);
        };
        // In order, and not before the timer's next wake-up.
        let last = state.deadlines.back().map(|&(at, _)| at).max(state.armed);
        if last.is_some_and(|last| deadline < last) {
            return Ok(false);
        }
        state.deadlines.push_back((deadline, id));
        if state.armed.is_none() {
            state.armed = Some(deadline);
            drop(state);
            self.queued.raise();
        }
        Ok(true)
    }

    /// Waits for the answer to call `id`, registered before, and removes
    /// the call from the table; `None` if it was not there (forgotten).
    pub(crate) async fn answer(&self, id: u64) -> Option<Answer> {
        poll_fn(|cx| self.poll_answer(id, cx)).await
    }

    fn poll_answer(&self, id: u64, cx: &mut Context<'_>) -> Poll<Option<Answer>> {
        let mut state = self.lock();
        let Entry::Occupied(mut call) = state.calls.entry(id) else {
            return Poll::Ready(None);
        };
        if let Call::Waiting(waker) = call.get_mut() {
            match waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => *waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        let call = call.remove();
        self.entries.store(state.calls.len(), Ordering::Relaxed);
        match call {
            Call::Answered(answer) => Poll::Ready(Some(answer)),
            Call::Waiting(_) => unreachable!("the call was just seen answered"),
        }
    }

    /// Delivers an answer; gives it back if no call with that id waits (it
    /// timed out or was cancelled, or the peer made the id up).
    pub(crate) fn complete(&self, id: u64, answer: Answer) -> Result<(), Answer> {
        let waker = self.lock().answer(id, answer)?;
        // Outside the lock: the caller's task may run at once on another
        // thread, and take it.
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Removes a call whose caller stopped waiting; `true` if it had no
    /// answer yet.
    pub(crate) fn forget(&self, id: u64) -> bool {
        let mut state = self.lock();
        let removed = state.calls.remove(&id);
        self.entries.store(state.calls.len(), Ordering::Relaxed);
        match removed {
            Some(Call::Waiting(_)) => {
                state.waiting -= 1;
                state.trim();
                true
            }
            Some(Call::Answered(_)) | None => false,
        }
    }

    /// Resolves every waiting call with `reason` and refuses new ones.
    pub(crate) fn close(&self, reason: &CloseReason) {
        let mut wakers = Vec::new();
        {
            let mut state = self.lock();
            state.closed.get_or_insert_with(|| reason.clone());
            state.deadlines = VecDeque::new();
            state.waiting = 0;
            for entry in state.calls.values_mut() {
                if let Call::Waiting(waker) = entry {
                    wakers.extend(waker.take());
                    *entry = Call::Answered(Answer::Closed(reason.clone()));
                }
            }
        }
        for waker in wakers {
            waker.wake();
        }
    }

    /// Calls that wait for their answer.
    pub(crate) fn len(&self) -> usize {
        self.lock().waiting
    }

    /// Calls that wait for their answer or have one they have not yet
    /// taken: the latter's tasks are about to run, and may call again.
    pub(crate) fn entries(&self) -> usize {
        self.entries.load(Ordering::Relaxed)
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
        let (mut expired, mut wakers) = (Vec::new(), Vec::new());
        let armed = {
            let mut state = self.lock();
            while let Some(&(at, id)) = state.deadlines.front() {
                if at > now {
                    break;
                }
                state.deadlines.pop_front();
                if let Ok(waker) = state.answer(id, Answer::Expired) {
                    wakers.extend(waker);
                    expired.push(id);
                }
            }
            state.trim();
            state.armed = state.deadlines.front().map(|&(at, _)| at);
            state.armed
        };
        // Outside the lock: cancelling queues a frame.
        for waker in wakers {
            waker.wake();
        }
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

    /// The answer of call `id` if it has one: `Pending` while it waits.
    fn taken(pending: &Pending, id: u64) -> Poll<Option<Answer>> {
        pending.poll_answer(id, &mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn closing_resolves_every_waiting_call_and_refuses_new_ones() {
        let pending = Pending::default();
        pending.register(1, None).unwrap();
        pending.register(2, Some(Instant::now())).unwrap();
        assert!(taken(&pending, 1).is_pending());
        pending.close(&CloseReason::local(1000, "bye"));
        assert!(
            matches!(taken(&pending, 1), Poll::Ready(Some(Answer::Closed(r))) if r.reason == "bye")
        );
        assert!(matches!(
            taken(&pending, 2),
            Poll::Ready(Some(Answer::Closed(_)))
        ));
        assert_eq!(pending.register(3, None).unwrap_err().reason, "bye");
        assert_eq!(pending.len(), 0);
        assert_eq!(pending.queued(), 0);
        assert!(
            pending.lock().calls.is_empty(),
            "taken answers leave the table"
        );
    }

    #[test]
    fn an_unknown_or_forgotten_id_is_not_delivered() {
        let pending = Pending::default();
        assert!(pending.complete(9, Answer::Value(Bytes::new())).is_err());
        pending.register(9, None).unwrap();
        assert!(pending.forget(9));
        assert!(matches!(
            pending.complete(9, Answer::Value(Bytes::new())),
            Err(Answer::Value(_))
        ));
        assert!(matches!(taken(&pending, 9), Poll::Ready(None)));
    }

    #[test]
    fn an_answer_is_delivered_once_and_wakes_the_caller() {
        let pending = Pending::default();
        pending.register(4, None).unwrap();
        let woken = std::sync::Arc::new(Woken::default());
        let waker = Waker::from(std::sync::Arc::clone(&woken));
        assert!(
            pending
                .poll_answer(4, &mut Context::from_waker(&waker))
                .is_pending()
        );
        assert!(
            pending
                .complete(4, Answer::Value(Bytes::from_static(b"x")))
                .is_ok()
        );
        assert!(woken.0.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(pending.len(), 0, "answered calls do not count as waiting");
        // A second answer with that id (a peer's mistake) is given back.
        assert!(pending.complete(4, Answer::Value(Bytes::new())).is_err());
        assert!(!pending.forget(4), "an answered call needs no cancel");
    }

    #[test]
    fn entries_count_answers_not_yet_taken_until_taken_or_forgotten() {
        let pending = Pending::default();
        for id in [1, 2, 3] {
            pending.register(id, None).unwrap();
        }
        assert!(pending.complete(1, Answer::Value(Bytes::new())).is_ok());
        assert_eq!(pending.entries(), 3, "an answer not yet taken counts");
        assert!(matches!(taken(&pending, 1), Poll::Ready(Some(_))));
        assert_eq!(pending.entries(), 2);
        assert!(pending.forget(2));
        assert_eq!(pending.entries(), 1);
        // Closing answers the rest; they count until taken.
        pending.close(&CloseReason::abnormal("gone"));
        assert_eq!(pending.entries(), 1);
        assert!(matches!(taken(&pending, 3), Poll::Ready(Some(_))));
        assert_eq!(pending.entries(), 0);
    }

    #[derive(Default)]
    struct Woken(std::sync::atomic::AtomicBool);

    impl std::task::Wake for Woken {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn the_timer_watches_deadlines_in_order_and_leaves_the_rest_to_their_callers() {
        let pending = Pending::default();
        let now = Instant::now();
        let second = Duration::from_secs(1);
        assert!(pending.register(1, Some(now + second)).unwrap());
        assert!(pending.register(2, Some(now + 3 * second)).unwrap());
        // Before the last watched deadline: its caller keeps the time.
        assert!(!pending.register(3, Some(now + 2 * second)).unwrap());

        let cancelled = std::cell::RefCell::new(Vec::new());
        let cancel = |id| cancelled.borrow_mut().push(id);
        assert_eq!(pending.expire(now, &cancel), Some(now + second));
        assert!(taken(&pending, 1).is_pending(), "not due yet");
        assert_eq!(
            pending.expire(now + second, &cancel),
            Some(now + 3 * second)
        );
        assert!(matches!(
            taken(&pending, 1),
            Poll::Ready(Some(Answer::Expired))
        ));
        assert_eq!(*cancelled.borrow(), [1]);
        assert!(taken(&pending, 2).is_pending());
        assert!(pending.complete(2, Answer::Value(Bytes::new())).is_ok());
        assert!(matches!(
            taken(&pending, 2),
            Poll::Ready(Some(Answer::Value(_)))
        ));
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
        pending.register(1, Some(at)).unwrap();
        for id in 2..10_000 {
            pending.register(id, Some(at)).unwrap();
            assert!(pending.complete(id, Answer::Value(Bytes::new())).is_ok());
            assert!(taken(&pending, id).is_ready());
        }
        assert!(
            pending.queued() <= 2 + SLACK,
            "the queue holds {} deadlines for 1 waiting call",
            pending.queued()
        );
    }

    #[test]
    fn answers_out_of_order_keep_the_queue_bounded_and_are_never_expired() {
        let pending = Pending::default();
        let at = Instant::now() + Duration::from_secs(30);
        for id in 1..=1_000 {
            assert!(pending.register(id, Some(at)).unwrap());
        }
        // The last call first: no answer's deadline is at the front.
        for id in (1..=1_000).rev() {
            assert!(pending.complete(id, Answer::Value(Bytes::new())).is_ok());
            assert!(taken(&pending, id).is_ready());
            let waiting = pending.len();
            assert!(pending.queued() <= 2 * waiting + SLACK);
        }
        let cancelled = std::cell::RefCell::new(Vec::new());
        assert_eq!(
            pending.expire(at, &|id| cancelled.borrow_mut().push(id)),
            None
        );
        assert!(
            cancelled.borrow().is_empty(),
            "answered calls are not expired"
        );
        assert_eq!(pending.queued(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_timer_answers_a_call_at_its_deadline_and_sleeps_while_none_waits() {
        let pending = std::sync::Arc::new(Pending::default());
        let timer = tokio::spawn({
            let pending = std::sync::Arc::clone(&pending);
            async move { pending.watch_deadlines(|_| {}).await }
        });
        let started = Instant::now();
        assert!(
            pending
                .register(1, Some(started + Duration::from_secs(5)))
                .unwrap()
        );
        assert!(matches!(pending.answer(1).await, Some(Answer::Expired)));
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        // Idle again: a later call is watched too.
        pending
            .register(2, Some(Instant::now() + Duration::from_secs(7)))
            .unwrap();
        assert!(matches!(pending.answer(2).await, Some(Answer::Expired)));
        assert_eq!(started.elapsed(), Duration::from_secs(12));
        timer.abort();
    }
}
