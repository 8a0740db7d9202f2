//! A signal that one task waits for and anyone raises, without a lock: an
//! atomic flag and the waiting task's waker. The session's own loops each
//! wait on signals of their own (the writer on its doorbell, the reader and
//! the heartbeat on the session's end), so they need neither
//! `tokio::sync::Notify` nor a `CancellationToken`, whose every wait and
//! wake-up take a lock: several per call on a busy connection.

use std::{
    future::poll_fn,
    sync::atomic::{AtomicBool, Ordering},
    task::{Context, Poll},
};

use futures_util::task::AtomicWaker;

/// Raised by anyone, awaited by one task at a time (the futures of one task
/// may share it: they register the same waker; not futures run apart by
/// [`beside`](crate::beside::beside), which each have a waker of their own).
#[derive(Debug, Default)]
pub(crate) struct Signal {
    raised: AtomicBool,
    waker: AtomicWaker,
}

impl Signal {
    /// Raises the signal and wakes the waiting task, if any.
    pub(crate) fn raise(&self) {
        self.raised.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Whether it is raised now.
    #[cfg(test)]
    fn is_raised(&self) -> bool {
        self.raised.load(Ordering::Acquire)
    }

    /// Resolves once the signal is raised, and leaves it raised: an end,
    /// such as the session's close.
    pub(crate) async fn raised(&self) {
        poll_fn(|cx| self.poll(cx, false)).await;
    }

    /// Resolves once the signal is raised, and lowers it: a doorbell, rung
    /// any number of times between two waits and heard once.
    pub(crate) async fn take(&self) {
        poll_fn(|cx| self.poll(cx, true)).await;
    }

    fn poll(&self, cx: &Context<'_>, lower: bool) -> Poll<()> {
        let look = || {
            if lower {
                self.raised.load(Ordering::Acquire) && self.raised.swap(false, Ordering::AcqRel)
            } else {
                self.raised.load(Ordering::Acquire)
            }
        };
        if look() {
            return Poll::Ready(());
        }
        // Registered before the second look: a raise in between either is
        // seen by it or wakes the waker registered here.
        self.waker.register(cx.waker());
        if look() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use super::*;

    #[tokio::test]
    async fn a_doorbell_rung_twice_is_heard_once_and_an_end_stays_raised() {
        let bell = Arc::new(Signal::default());
        bell.raise();
        bell.raise();
        bell.take().await;
        assert!(!bell.is_raised());
        let waiting = tokio::spawn({
            let bell = Arc::clone(&bell);
            async move { bell.take().await }
        });
        tokio::task::yield_now().await;
        bell.raise();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the waiting task is woken")
            .unwrap();

        let end = Signal::default();
        end.raise();
        end.raised().await;
        end.raised().await;
        assert!(end.is_raised());
    }
}
