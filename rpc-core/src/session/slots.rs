//! This side's share of the peer's `max_in_flight`: a call or stream takes
//! a slot before it is sent and holds it until its answer (or end), so
//! that calls beyond the peer's limit wait here, in a bounded queue,
//! instead of being sent to be refused `busy`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Instant,
};

use crate::error::Error;

/// A slot of the peer's `max_in_flight`, given back when dropped.
pub(crate) type Slot = OwnedSemaphorePermit;

#[derive(Debug)]
pub(crate) struct Slots {
    free: Arc<Semaphore>,
    /// Requests waiting for a slot now.
    queued: AtomicUsize,
    max_queued: usize,
}

impl Slots {
    /// `peer_max_in_flight` slots (as the peer announced), and room for
    /// `max_queued` requests to wait for one.
    pub(crate) fn new(peer_max_in_flight: usize, max_queued: usize) -> Self {
        Self {
            free: Arc::new(Semaphore::new(
                peer_max_in_flight.clamp(1, Semaphore::MAX_PERMITS),
            )),
            queued: AtomicUsize::new(0),
            max_queued,
        }
    }

    /// A free slot, waiting at most `limit` for one; with what is left of
    /// `limit` after the wait.
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
    ) -> Result<(Slot, Duration), Error> {
        if let Ok(slot) = Arc::clone(&self.free).try_acquire_owned() {
            return Ok((slot, limit));
        }
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.max_queued {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::QueueFull {
                max: self.max_queued,
            });
        }
        // Leaves the queue however the wait ends, the caller's future being
        // dropped included.
        let _waiting = Waiting(&self.queued);
        let started = Instant::now();
        let waited = tokio::time::timeout(limit, Arc::clone(&self.free).acquire_owned()).await;
        match waited {
            Ok(Ok(slot)) => Ok((slot, limit.saturating_sub(started.elapsed()))),
            Ok(Err(_closed)) => Err(on_close()),
            Err(_) => Err(Error::Timeout(limit)),
        }
    }

    /// Ends every wait: the session is closing.
    pub(crate) fn close(&self) {
        self.free.close();
    }
}

/// One request in the queue, until dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
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
        let (first, _) = slots.take(Duration::from_secs(1), closed).await.unwrap();
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
        let _held = slots.take(Duration::from_secs(1), closed).await.unwrap().0;
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
            assert_eq!(slots.queued.load(Ordering::Acquire), 1);
        }
        assert_eq!(slots.queued.load(Ordering::Acquire), 0);

        slots.close();
        let ended = slots.take(Duration::from_secs(1), closed).await;
        assert!(matches!(ended, Err(Error::Closed(_))));
    }
}
