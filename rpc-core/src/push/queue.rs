//! A bounded queue of encoded push frames, one per priority per session.
//! Unlike an mpsc channel, its sender side can evict the oldest frame, which
//! the drop-oldest policy needs.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
};

use bytes::Bytes;
use tokio::sync::Notify;

/// What a full queue did with a frame.
#[derive(Debug)]
pub(crate) enum Rejected {
    /// The queue is full; the frame is handed back.
    Full(Bytes),
}

#[derive(Debug)]
pub(crate) struct PushQueue {
    frames: Mutex<VecDeque<Bytes>>,
    capacity: usize,
    /// Rung when a frame is added: the writer's one bell for all its side
    /// queues, so that it waits on one future instead of one per queue.
    doorbell: Arc<Notify>,
    /// `frames.len()`, kept under the lock, read without it.
    queued: AtomicUsize,
    /// Woken when frames are taken (waiting pushers wait on it).
    drained: Notify,
}

impl PushQueue {
    pub(crate) fn new(capacity: usize, doorbell: Arc<Notify>) -> Self {
        Self {
            frames: Mutex::new(VecDeque::new()),
            capacity,
            doorbell,
            queued: AtomicUsize::new(0),
            drained: Notify::new(),
        }
    }

    fn frames(&self) -> MutexGuard<'_, VecDeque<Bytes>> {
        // Each operation is a single push or pop; poisoning cannot leave the
        // deque half-updated.
        self.frames.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.frames().len()
    }

    /// Lock-free: the writer asks after every round.
    pub(crate) fn is_empty(&self) -> bool {
        self.queued.load(Ordering::Acquire) == 0
    }

    /// Adds a frame if there is room.
    pub(crate) fn try_push(&self, frame: Bytes) -> Result<(), Rejected> {
        {
            let mut frames = self.frames();
            if frames.len() >= self.capacity {
                return Err(Rejected::Full(frame));
            }
            frames.push_back(frame);
            self.queued.store(frames.len(), Ordering::Release);
        }
        self.doorbell.notify_one();
        Ok(())
    }

    /// Adds a frame, evicting the oldest one if the queue is full.
    pub(crate) fn push_evicting(&self, frame: Bytes) -> Option<Bytes> {
        let evicted = {
            let mut frames = self.frames();
            let evicted = if frames.len() >= self.capacity {
                frames.pop_front()
            } else {
                None
            };
            frames.push_back(frame);
            self.queued.store(frames.len(), Ordering::Release);
            evicted
        };
        self.doorbell.notify_one();
        evicted
    }

    /// Adds a frame, waiting for room. Cancel-safe: dropping the future
    /// drops the frame and nothing else.
    pub(crate) async fn push(&self, mut frame: Bytes) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            // Register before checking, so a drain between the check and the
            // wait is not missed.
            drained.as_mut().enable();
            match self.try_push(frame) {
                Ok(()) => return,
                Err(Rejected::Full(back)) => frame = back,
            }
            drained.await;
        }
    }

    /// Moves up to `max` frames into `batch`, oldest first.
    pub(crate) fn drain_into(&self, batch: &mut Vec<Bytes>, max: usize) {
        let taken = {
            let mut frames = self.frames();
            let take = max.min(frames.len());
            batch.extend(frames.drain(..take));
            self.queued.store(frames.len(), Ordering::Release);
            take
        };
        if taken > 0 {
            self.drained.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u8) -> Bytes {
        Bytes::from(vec![n])
    }

    #[test]
    fn a_full_queue_hands_the_frame_back_or_evicts_the_oldest() {
        let queue = PushQueue::new(2, Arc::default());
        queue.try_push(frame(1)).unwrap();
        queue.try_push(frame(2)).unwrap();
        assert!(matches!(queue.try_push(frame(3)), Err(Rejected::Full(f)) if f == frame(3)));
        assert_eq!(queue.push_evicting(frame(4)), Some(frame(1)));
        let mut batch = Vec::new();
        queue.drain_into(&mut batch, 10);
        assert_eq!(batch, [frame(2), frame(4)]);
    }

    #[tokio::test]
    async fn a_waiting_push_completes_once_the_writer_drains() {
        let queue = std::sync::Arc::new(PushQueue::new(1, Arc::default()));
        queue.try_push(frame(1)).unwrap();
        let pusher = tokio::spawn({
            let queue = std::sync::Arc::clone(&queue);
            async move { queue.push(frame(2)).await }
        });
        tokio::task::yield_now().await;
        assert!(!pusher.is_finished());
        let mut batch = Vec::new();
        queue.drain_into(&mut batch, 1);
        pusher.await.unwrap();
        assert_eq!(queue.len(), 1);
    }
}
