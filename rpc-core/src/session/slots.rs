//! This side's share of the peer's `max_in_flight`: a call or stream takes
//! a slot before it is sent and holds it until its answer (or end), so
//! that calls beyond the peer's limit wait here, in a bounded queue,
//! instead of being sent to be refused `busy`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::sync::Notify;

use crate::{error::Error, waiting::Waiting};

/// A slot of the peer's `max_in_flight`, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    counts: Arc<Counts>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.counts.release();
    }
}

/// The free slots and the wait for one: counters rather than a semaphore,
/// whose release takes a lock every time; here only a release with
/// requests waiting touches the `Notify`.
#[derive(Debug)]
struct Counts {
    free: AtomicUsize,
    /// Requests waiting for a slot now.
    queued: AtomicUsize,
    freed: Notify,
    closed: AtomicBool,
}

impl Counts {
    fn try_take(&self) -> bool {
        self.free
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    fn release(&self) {
        // SeqCst on both sides: either a waiter sees the slot when it looks
        // after queueing, or this sees it queued and wakes one.
        self.free.fetch_add(1, Ordering::SeqCst);
        if self.queued.load(Ordering::SeqCst) > 0 {
            self.freed.notify_one();
        }
    }
}

#[derive(Debug)]
pub(crate) struct Slots {
    counts: Arc<Counts>,
    max_queued: usize,
}

impl Slots {
    /// `peer_max_in_flight` slots (as the peer announced), and room for
    /// `max_queued` requests to wait for one.
    pub(crate) fn new(peer_max_in_flight: usize, max_queued: usize) -> Self {
        Self {
            counts: Arc::new(Counts {
                free: AtomicUsize::new(peer_max_in_flight.max(1)),
                queued: AtomicUsize::new(0),
                freed: Notify::new(),
                closed: AtomicBool::new(false),
            }),
            max_queued,
        }
    }

    fn slot(&self) -> Slot {
        Slot {
            counts: Arc::clone(&self.counts),
        }
    }

    /// A free slot, waiting at most `limit` for one.
    ///
    /// # Errors
    ///
    /// [`Error::QueueFull`] when `max_queued` requests wait already,
    /// [`Error::Timeout`] when no slot frees up within `limit`, `closed`
    /// (from `on_close`) when the session ends meanwhile.
    pub(crate) async fn take(
        &self,
        limit: Duration,
        on_close: impl FnOnce() -> Error,
    ) -> Result<Slot, Error> {
        let counts = &*self.counts;
        if counts.closed.load(Ordering::Acquire) {
            return Err(on_close());
        }
        if counts.try_take() {
            return Ok(self.slot());
        }
        // Leaves the queue however the wait ends, the caller's future being
        // dropped included.
        let (waiting, ahead) = Waiting::join(&counts.queued);
        if ahead >= self.max_queued {
            return Err(Error::QueueFull {
                max: self.max_queued,
            });
        }
        // Boxed: waiting is the rare case, and its future (a `Notify` wait
        // and a timer, some 250 bytes) would otherwise enlarge every call's.
        Box::pin(self.wait(limit, waiting)).await.map_err(|closed| {
            if closed {
                on_close()
            } else {
                Error::Timeout(limit)
            }
        })
    }

    /// Waits at most `limit` for a slot; `Err(true)` if the session closed
    /// meanwhile, `Err(false)` at the timeout.
    async fn wait(&self, limit: Duration, _waiting: Waiting<'_>) -> Result<Slot, bool> {
        let counts = &*self.counts;
        let wait = async {
            loop {
                let freed = counts.freed.notified();
                tokio::pin!(freed);
                // Registered before the look, so a release in between counts.
                freed.as_mut().enable();
                if counts.closed.load(Ordering::Acquire) {
                    return false;
                }
                if counts.try_take() {
                    return true;
                }
                freed.await;
            }
        };
        match tokio::time::timeout(limit, wait).await {
            Ok(true) => Ok(self.slot()),
            Ok(false) => Err(true),
            Err(_) => Err(false),
        }
    }

    /// Ends every wait: the session is closing.
    pub(crate) fn close(&self) {
        self.counts.closed.store(true, Ordering::Release);
        self.counts.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CloseReason;

    fn closed() -> Error {
        Error::Closed(CloseReason::abnormal("test"))
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_a_free_slot_within_the_queue_and_the_time_given() {
        let slots = Slots::new(1, 1);
        let first = slots.take(Duration::from_secs(1), closed).await.unwrap();
        // One may wait; a second waiter is refused at once.
        let waiting = slots.take(Duration::from_secs(1), closed);
        let refused = async {
            tokio::task::yield_now().await;
            slots.take(Duration::from_secs(1), closed).await
        };
        let release = async {
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            drop(first);
        };
        let (waited, refused, ()) = tokio::join!(waiting, refused, release);
        assert!(waited.is_ok());
        assert!(matches!(refused, Err(Error::QueueFull { max: 1 })));
        drop(waited);

        // No slot frees up: the wait ends with the timeout.
        let _held = slots.take(Duration::from_secs(1), closed).await.unwrap();
        let timed_out = slots.take(Duration::from_millis(50), closed).await;
        assert!(matches!(timed_out, Err(Error::Timeout(_))));
        // A waiter given up by its caller leaves the queue.
        {
            let mut abandoned = std::pin::pin!(slots.take(Duration::from_secs(1), closed));
            tokio::select! {
                biased;
                _ = abandoned.as_mut() => panic!("no slot is free"),
                () = std::future::ready(()) => {}
            }
            assert_eq!(slots.counts.queued.load(Ordering::Acquire), 1);
        }
        assert_eq!(slots.counts.queued.load(Ordering::Acquire), 0);

        slots.close();
        let ended = slots.take(Duration::from_secs(1), closed).await;
        assert!(matches!(ended, Err(Error::Closed(_))));
    }
}
