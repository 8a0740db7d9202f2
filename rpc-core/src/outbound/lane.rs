//! One FIFO of encoded messages waiting for the writer: a priority class of
//! the outbound side. Bounded in messages here and in bytes by the budget
//! that the outbound side checks under the same lock.

use std::{
    collections::VecDeque,
    sync::{
        Mutex, MutexGuard, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
};

use bytes::Bytes;
use tokio::sync::oneshot;

/// A message queued for the peer.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) bytes: Bytes,
    /// What it holds of the budget until the writer has flushed it.
    pub(crate) cost: usize,
    /// Told when the writer has taken the message's last byte, so that a
    /// sender of a large message can keep its own order.
    pub(crate) done: Option<oneshot::Sender<()>>,
}

impl Message {
    pub(crate) fn new(bytes: Bytes, done: Option<oneshot::Sender<()>>) -> Self {
        let cost = bytes.len() + super::ENTRY_OVERHEAD;
        Self { bytes, cost, done }
    }

    pub(crate) fn finish(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(());
        }
    }
}

#[derive(Debug)]
pub(crate) struct Lane {
    queue: Mutex<VecDeque<Message>>,
    max_messages: usize,
    /// `queue.len()`, kept under the lock, read without it.
    queued: AtomicUsize,
}

/// The lane locked by a sender that checks room and queues in one step.
pub(crate) struct Locked<'a> {
    queue: MutexGuard<'a, VecDeque<Message>>,
    lane: &'a Lane,
}

impl Locked<'_> {
    pub(crate) fn is_full(&self) -> bool {
        self.queue.len() >= self.lane.max_messages
    }

    pub(crate) fn push(&mut self, message: Message) {
        self.queue.push_back(message);
        self.lane.queued.store(self.queue.len(), Ordering::Release);
    }

    /// Removes the oldest message no sender waits for, for the drop-oldest
    /// push policy.
    pub(crate) fn evict(&mut self) -> Option<Message> {
        let oldest = self.queue.iter().position(|m| m.done.is_none())?;
        let evicted = self.queue.remove(oldest);
        self.lane.queued.store(self.queue.len(), Ordering::Release);
        evicted
    }
}

impl Lane {
    pub(crate) fn new(max_messages: usize) -> Self {
        Self {
            queue: Mutex::new(VecDeque::new()),
            max_messages,
            queued: AtomicUsize::new(0),
        }
    }

    pub(crate) fn lock(&self) -> Locked<'_> {
        // Each operation under the lock is one push or pop; poisoning
        // cannot leave the queue half-updated.
        Locked {
            queue: self.queue.lock().unwrap_or_else(PoisonError::into_inner),
            lane: self,
        }
    }

    /// Lock-free: the writer asks after every round.
    pub(crate) fn is_empty(&self) -> bool {
        self.queued.load(Ordering::Acquire) == 0
    }

    /// Moves messages into `out`, oldest first, up to `max` of them and,
    /// past the first, `max_bytes` of them.
    pub(crate) fn take(&self, out: &mut Vec<Message>, max: usize, max_bytes: usize) {
        if self.is_empty() || max == 0 {
            return;
        }
        let mut locked = self.lock();
        let mut bytes = 0;
        while out.len() < max {
            let Some(front) = locked.queue.front() else {
                break;
            };
            if bytes > 0 && bytes + front.bytes.len() > max_bytes {
                break;
            }
            bytes += front.bytes.len();
            out.extend(locked.queue.pop_front());
        }
        self.queued.store(locked.queue.len(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: u8) -> Message {
        Message {
            bytes: Bytes::from(vec![n; 10]),
            cost: 10,
            done: None,
        }
    }

    #[test]
    fn takes_in_order_within_the_count_and_byte_bounds() {
        let lane = Lane::new(3);
        for n in 0..3 {
            let mut locked = lane.lock();
            assert!(!locked.is_full());
            locked.push(message(n));
        }
        assert!(lane.lock().is_full());
        let mut out = Vec::new();
        lane.take(&mut out, 10, 15);
        assert_eq!(out.len(), 1, "the second message would pass 15 bytes");
        lane.take(&mut out, 10, 100);
        let firsts: Vec<u8> = out.iter().map(|m| m.bytes[0]).collect();
        assert_eq!(firsts, [0, 1, 2]);
        assert!(lane.is_empty());
    }

    #[test]
    fn eviction_takes_the_oldest() {
        let lane = Lane::new(2);
        lane.lock().push(message(1));
        lane.lock().push(message(2));
        let evicted = lane.lock().evict().unwrap();
        assert_eq!(evicted.bytes[0], 1);
    }
}
