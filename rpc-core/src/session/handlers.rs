//! The session's handler pool: one task that polls every running handler of
//! the session, so the reader runs no user code (beyond the first poll of
//! an inline method's handler) and a call costs no task
//! of its own (a spawn, a task cell and a join handle each).
//!
//! Handlers of one session run concurrently on that task, not in parallel:
//! a handler that computes for long without awaiting delays the session's
//! other handlers, and, like any task that blocks, whatever else waits for
//! its worker thread. Such work belongs in `tokio::task::spawn_blocking` or
//! a task of its own.

use std::{
    fmt,
    future::Future,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    task::{Context, Poll, Waker},
};

use futures_util::{StreamExt, stream::FuturesUnordered, task::AtomicWaker};

/// What the pool runs: a handler wrapped with its deadline and answer.
pub(super) trait PoolJob: Future<Output = ()> + Unpin {
    /// The admission it came from, for [`Jobs::cancel`].
    fn serial(&self) -> u64;

    /// Makes the job end at its next poll without answering, and wakes it.
    fn cancel(&mut self);
}

/// A job's side of cancellation: whether it was cancelled, and the pool's
/// waker for it while it waits, so that a cancel wakes it.
#[derive(Debug, Default)]
pub(super) struct Cancel {
    cancelled: bool,
    waker: Option<Waker>,
}

impl Cancel {
    /// Marks the job cancelled and wakes it.
    pub(super) fn cancel(&mut self) {
        self.cancelled = true;
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    pub(super) fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// Keeps `cx`'s waker (cloned only when it changed): the job waits.
    pub(super) fn waiting(&mut self, cx: &Context<'_>) {
        if !self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            self.waker = Some(cx.waker().clone());
        }
    }
}

/// What the reader tells the pool.
enum Message<J> {
    Start(J),
    Cancel(u64),
    /// Ends the pool, dropping every handler it holds.
    Stop,
}

/// Where the reader hands admitted handlers to the pool: a vector behind a
/// lock rather than a channel, because a channel allocates its first block
/// of 32 slots up front, and a job is about 150 bytes: 5 KiB per idle
/// session. The vector holds only what waits for the pool, and keeps at most
/// [`KEPT_CAPACITY`] slots once drained.
pub(super) struct Jobs<J> {
    inbox: Arc<Inbox<J>>,
}

struct Inbox<J> {
    state: Mutex<State<J>>,
    /// The pool's waker, registered before each look at `messages`.
    waker: AtomicWaker,
}

struct State<J> {
    /// Unbounded in type only: admission holds a place of the in-flight
    /// limit per job, and a cancel is sent only for a running call.
    messages: Vec<Message<J>>,
    /// The pool has ended: messages are dropped on arrival.
    closed: bool,
}

/// Slots a drained vector keeps: enough for the usual burst, little for an
/// idle session.
const KEPT_CAPACITY: usize = 16;

impl<J> fmt::Debug for Jobs<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jobs").finish_non_exhaustive()
    }
}

/// The receiving end, given to [`run`] when the session starts. Dropping it
/// (the pool ended) drops what waits and everything sent later.
pub(super) struct Queue<J> {
    inbox: Arc<Inbox<J>>,
    /// Swapped with the inbox's vector, so both keep their capacity.
    taken: Vec<Message<J>>,
}

impl<J> Drop for Queue<J> {
    fn drop(&mut self) {
        let left = {
            let mut state = self.inbox.lock();
            state.closed = true;
            std::mem::take(&mut state.messages)
        };
        drop(left);
    }
}

impl<J> Inbox<J> {
    fn lock(&self) -> MutexGuard<'_, State<J>> {
        // Each operation is one push or one swap: a panic cannot leave the
        // vector inconsistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<J> Jobs<J> {
    pub(super) fn new() -> (Self, Queue<J>) {
        let inbox = Arc::new(Inbox {
            state: Mutex::new(State {
                messages: Vec::new(),
                closed: false,
            }),
            waker: AtomicWaker::new(),
        });
        let queue = Queue {
            inbox: Arc::clone(&inbox),
            taken: Vec::new(),
        };
        (Self { inbox }, queue)
    }

    fn send(&self, message: Message<J>) {
        let was_empty = {
            let mut state = self.inbox.lock();
            if state.closed {
                drop(state);
                // Dropped outside the lock: a job's drop releases what it holds.
                drop(message);
                return;
            }
            state.messages.push(message);
            state.messages.len() == 1
        };
        // The pool registers its waker before it takes the vector, so only
        // the first message after a take needs to wake it.
        if was_empty {
            self.inbox.waker.wake();
        }
    }

    /// Hands a handler to the pool. Once the pool has stopped the job is
    /// dropped at once, which releases what it holds.
    pub(super) fn start(&self, job: J) {
        self.send(Message::Start(job));
    }

    /// Ends the handler of admission `serial` without an answer, if it
    /// still runs. Costs the pool a pass over its handlers, at most the
    /// in-flight limit, and only a running call can be cancelled, once.
    pub(super) fn cancel(&self, serial: u64) {
        self.send(Message::Cancel(serial));
    }

    /// Stops the pool: every handler is dropped, as an aborted task would be.
    pub(super) fn stop(&self) {
        self.send(Message::Stop);
    }
}

/// Polls the session's handlers until [`Jobs::stop`].
pub(super) async fn run<J: PoolJob>(mut queue: Queue<J>) {
    let mut running = FuturesUnordered::new();
    std::future::poll_fn(|cx| poll(&mut queue, &mut running, cx)).await;
    // Dropping `running` here drops every unfinished handler.
}

fn poll<J: PoolJob>(
    queue: &mut Queue<J>,
    running: &mut FuturesUnordered<J>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    // Everything the reader handed over since the last poll, so that a
    // burst of calls is answered in one pass (and one write).
    queue.inbox.waker.register(cx.waker());
    std::mem::swap(&mut queue.inbox.lock().messages, &mut queue.taken);
    for message in queue.taken.drain(..) {
        match message {
            Message::Start(job) => running.push(job),
            Message::Cancel(serial) => {
                if let Some(job) = running.iter_mut().find(|job| job.serial() == serial) {
                    job.cancel();
                }
            }
            Message::Stop => return Poll::Ready(()),
        }
    }
    queue.taken.shrink_to(KEPT_CAPACITY);
    // Until every handler waits (or the set yields, having polled each
    // once); a message arriving meanwhile wakes this task again.
    while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
    Poll::Pending
}

#[cfg(test)]
mod tests {
    use std::{
        pin::Pin,
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
    };

    use super::*;

    /// Counts drops, to see which jobs the pool dropped.
    struct DropCount(Arc<AtomicUsize>);

    impl Drop for DropCount {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A job that runs `body` unless cancelled first.
    struct Probe {
        serial: u64,
        body: Pin<Box<dyn Future<Output = ()> + Send>>,
        cancel: Cancel,
    }

    impl Probe {
        fn new(serial: u64, body: impl Future<Output = ()> + Send + 'static) -> Self {
            Self {
                serial,
                body: Box::pin(body),
                cancel: Cancel::default(),
            }
        }
    }

    impl Future for Probe {
        type Output = ();

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let this = self.get_mut();
            if this.cancel.is_cancelled() {
                return Poll::Ready(());
            }
            this.cancel.waiting(cx);
            this.body.as_mut().poll(cx)
        }
    }

    impl PoolJob for Probe {
        fn serial(&self) -> u64 {
            self.serial
        }

        fn cancel(&mut self) {
            self.cancel.cancel();
        }
    }

    #[tokio::test]
    async fn runs_jobs_cancels_one_by_serial_and_drops_the_rest_when_stopped() {
        let (jobs, queue) = Jobs::new();
        let pool = tokio::spawn(run(queue));
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        jobs.start(Probe::new(1, async move {
            let _ = done_tx.send(());
        }));
        done_rx.await.expect("a started job runs");

        let dropped = Arc::new(AtomicUsize::new(0));
        let (cancelled_tx, cancelled_rx) = tokio::sync::oneshot::channel::<()>();
        let cancelled = DropCount(Arc::clone(&dropped));
        jobs.start(Probe::new(2, async move {
            let _tell = cancelled_tx;
            let _guard = cancelled;
            std::future::pending::<()>().await;
        }));
        let stopped = DropCount(Arc::clone(&dropped));
        jobs.start(Probe::new(3, async move {
            let _guard = stopped;
            std::future::pending::<()>().await;
        }));
        jobs.cancel(2);
        // The cancelled job is dropped (its sender with it) while the pool runs.
        assert!(cancelled_rx.await.is_err());
        assert_eq!(dropped.load(Ordering::SeqCst), 1);

        jobs.stop();
        pool.await.expect("the pool ends");
        assert_eq!(dropped.load(Ordering::SeqCst), 2);

        // After the stop, a job is dropped unrun.
        let late = DropCount(Arc::clone(&dropped));
        jobs.start(Probe::new(4, async move {
            let _late = late;
        }));
        assert_eq!(dropped.load(Ordering::SeqCst), 3);
    }
}
