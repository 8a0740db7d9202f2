//! The session's handler pool: one task that polls every running handler of
//! the session, so the reader never runs user code and a call costs no task
//! of its own (a spawn, a task cell and a join handle each).
//!
//! Handlers of one session run concurrently on that task, not in parallel:
//! a handler that computes for long without awaiting delays the session's
//! other handlers, and, like any task that blocks, whatever else waits for
//! its worker thread. Such work belongs
//! in `tokio::task::spawn_blocking` or a task of its own.

use std::{
    fmt,
    future::Future,
    task::{Context, Poll},
};

use futures_util::{StreamExt, stream::FuturesUnordered};
use tokio::sync::mpsc;

/// Where the reader hands admitted handlers (jobs `J`, a handler wrapped
/// with its deadline and answer) to the pool.
pub(super) struct Jobs<J> {
    /// `None` stops the pool and drops every handler it holds. Unbounded in
    /// type only: admission holds a place of the in-flight limit per job.
    sender: mpsc::UnboundedSender<Option<J>>,
}

impl<J> fmt::Debug for Jobs<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jobs").finish_non_exhaustive()
    }
}

/// The receiving end, given to [`run`] when the session starts.
pub(super) type Queue<J> = mpsc::UnboundedReceiver<Option<J>>;

impl<J> Jobs<J> {
    pub(super) fn new() -> (Self, Queue<J>) {
        let (sender, queue) = mpsc::unbounded_channel();
        (Self { sender }, queue)
    }

    /// Hands a handler to the pool. Once the pool has stopped the job is
    /// dropped at once, which releases what it holds.
    pub(super) fn start(&self, job: J) {
        let _ = self.sender.send(Some(job));
    }

    /// Stops the pool: every handler is dropped, as an aborted task would be.
    pub(super) fn stop(&self) {
        let _ = self.sender.send(None);
    }
}

/// Polls the session's handlers until [`Jobs::stop`].
pub(super) async fn run<J: Future<Output = ()>>(mut queue: Queue<J>) {
    let mut running = FuturesUnordered::new();
    std::future::poll_fn(|cx| poll(&mut queue, &mut running, cx)).await;
    // Dropping `running` here drops every unfinished handler.
}

fn poll<J: Future<Output = ()>>(
    queue: &mut Queue<J>,
    running: &mut FuturesUnordered<J>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    loop {
        // Everything the reader handed over since the last poll, so that a
        // burst of calls is answered in one pass (and one write).
        loop {
            match queue.poll_recv(cx) {
                Poll::Ready(Some(Some(job))) => running.push(job),
                Poll::Ready(Some(None) | None) => return Poll::Ready(()),
                Poll::Pending => break,
            }
        }
        match running.poll_next_unpin(cx) {
            Poll::Ready(Some(())) => {}
            // Empty: the queue's waker brings the next job.
            Poll::Ready(None) | Poll::Pending => return Poll::Pending,
        }
    }
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

    /// Counts drops, to see that stopping the pool drops its handlers.
    struct DropCount(Arc<AtomicUsize>);

    impl Drop for DropCount {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

    #[tokio::test]
    async fn runs_handed_jobs_and_drops_unfinished_ones_when_stopped() {
        let (jobs, queue) = Jobs::<Job>::new();
        let pool = tokio::spawn(run(queue));
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        jobs.start(Box::pin(async move {
            let _ = done_tx.send(());
        }));
        done_rx.await.expect("a started job runs");

        let dropped = Arc::new(AtomicUsize::new(0));
        let guard = DropCount(Arc::clone(&dropped));
        jobs.start(Box::pin(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
        jobs.stop();
        pool.await.expect("the pool ends");
        assert_eq!(dropped.load(Ordering::SeqCst), 1);

        // After the stop, a job is dropped unrun.
        let late = DropCount(Arc::clone(&dropped));
        jobs.start(Box::pin(async move {
            let _late = late;
        }));
        assert_eq!(dropped.load(Ordering::SeqCst), 2);
    }
}
