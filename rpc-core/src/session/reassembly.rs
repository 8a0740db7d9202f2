//! Large messages on the way in: pieces are collected per message id within
//! the limits this side announced in its handshake (bytes and messages at
//! once) and a deadline; the whole message is then handled like any other.
//! A well-behaved sender stays within the announced limits (see
//! `outbound::large`), so crossing one is the peer's fault: 1009.

use std::{
    collections::{BTreeSet, HashMap},
    time::Duration,
};

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use crate::{error::CloseReason, protocol::close_code};

/// What one partial message costs beyond its bytes, so that empty pieces
/// are not free.
pub(crate) const PARTIAL_OVERHEAD: usize = 64;

/// Below this capacity `Vec` rounds a reservation up (to 8 bytes), which
/// the accounting would not see; such buffers are grown by hand.
const MIN_DOUBLING: usize = 8;

#[derive(Debug)]
struct Partial {
    bytes: BytesMut,
    started: Instant,
}

/// Limits of the reader's reassembly.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest whole message.
    pub(crate) max_message: usize,
    /// Bytes of partial messages held at once.
    pub(crate) max_total: usize,
    /// Partial messages held at once.
    pub(crate) max_partials: usize,
    /// Time from a message's first piece to its last.
    pub(crate) timeout: Duration,
}

/// The reader's table of messages in pieces.
#[derive(Debug)]
pub(crate) struct Reassembly {
    partial: HashMap<u64, Partial>,
    /// (deadline, message) of every partial: the next deadline is the
    /// first, found in O(log n).
    deadlines: BTreeSet<(Instant, u64)>,
    buffered: usize,
    limits: Limits,
}

impl Reassembly {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            partial: HashMap::new(),
            deadlines: BTreeSet::new(),
            buffered: 0,
            limits,
        }
    }

    /// Adds a piece; returns the whole message when `last` completes it.
    pub(crate) fn add(
        &mut self,
        message: u64,
        last: bool,
        piece: &[u8],
    ) -> Result<Option<Bytes>, CloseReason> {
        let limits = self.limits;
        let known = self.partial.get(&message).map(|p| p.bytes.len());
        if known.is_none() && last {
            // A message in one piece: nothing to hold.
            return Ok(Some(Bytes::copy_from_slice(piece)));
        }
        let held = known.unwrap_or(0);
        let size = held + piece.len();
        if size > limits.max_message {
            return Err(too_big(format!(
                "fragmented message of over {size} bytes exceeds the limit of {} bytes",
                limits.max_message
            )));
        }
        if known.is_none() && self.partial.len() >= limits.max_partials {
            return Err(too_big(format!(
                "more than {} fragmented messages in transit",
                limits.max_partials
            )));
        }
        // What is held is counted as allocated (capacity, not length), and a
        // buffer grows by doubling only within the room the limits leave, so
        // the memory held stays within `max_total` rather than twice it.
        let overhead = if known.is_none() { PARTIAL_OVERHEAD } else { 0 };
        let capacity = self.partial.get(&message).map_or(0, |p| p.bytes.capacity());
        let room = limits
            .max_total
            .saturating_sub(self.buffered + overhead)
            .saturating_add(capacity)
            .min(limits.max_message);
        let grown = if size > capacity {
            capacity.saturating_mul(2).min(room).max(size)
        } else {
            capacity
        };
        let added = overhead + (grown - capacity);
        if self.buffered + added > limits.max_total {
            return Err(too_big(format!(
                "more than {} bytes of fragmented messages in transit",
                limits.max_total
            )));
        }
        let now = Instant::now();
        let partial = self.partial.entry(message).or_insert_with(|| Partial {
            bytes: BytesMut::new(),
            started: now,
        });
        if known.is_none() {
            self.deadlines
                .insert((crate::deadline::from(now, limits.timeout), message));
        }
        if grown == capacity * 2 && capacity >= MIN_DOUBLING {
            // Exactly what `reserve` makes of it (`Vec` doubles), grown in
            // place (`realloc`) where the allocator can.
            partial.bytes.reserve(grown - partial.bytes.len());
        } else if grown > capacity {
            // The first piece, or clamped below doubling: exactly `grown`.
            let mut bigger = BytesMut::with_capacity(grown);
            bigger.extend_from_slice(&partial.bytes);
            partial.bytes = bigger;
        }
        partial.bytes.extend_from_slice(piece);
        self.buffered += added;
        if !last {
            return Ok(None);
        }
        let done = self.partial.remove(&message).expect("present above");
        self.deadlines
            .remove(&(done.started + limits.timeout, message));
        self.buffered -= done.bytes.capacity() + PARTIAL_OVERHEAD;
        Ok(Some(done.bytes.freeze()))
    }

    /// When the oldest incomplete message runs out of time, if any is pending.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(deadline, _)| *deadline)
    }

    /// The error for a message that missed its deadline.
    pub(crate) fn expired(&self) -> CloseReason {
        CloseReason::local(
            close_code::POLICY,
            format!(
                "fragmented message incomplete after {:?}",
                self.limits.timeout
            ),
        )
    }
}

fn too_big(reason: String) -> CloseReason {
    CloseReason::local(close_code::TOO_BIG, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_message: usize, max_total: usize, max_partials: usize) -> Limits {
        Limits {
            max_message,
            max_total,
            max_partials,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn pieces_are_joined_per_message_within_the_limits() {
        let mut reassembly = Reassembly::new(limits(10, 1000, 4));
        assert_eq!(reassembly.add(1, false, b"abc").unwrap(), None);
        assert_eq!(reassembly.add(2, false, b"xy").unwrap(), None);
        assert_eq!(
            reassembly.add(1, true, b"def").unwrap().unwrap(),
            &b"abcdef"[..]
        );
        assert!(
            reassembly.deadline().is_some(),
            "message 2 is still pending"
        );
        let err = reassembly.add(2, false, b"0123456789").unwrap_err();
        assert_eq!(err.code, close_code::TOO_BIG);
    }

    #[test]
    fn the_total_in_transit_is_bounded_and_partials_cost_something() {
        let mut reassembly = Reassembly::new(limits(10, 3 * (5 + PARTIAL_OVERHEAD), 100));
        for message in 0..3 {
            reassembly.add(message, false, b"12345").unwrap();
        }
        let err = reassembly.add(4, false, b"").unwrap_err();
        assert!(err.reason.contains("in transit"), "{}", err.reason);
    }

    #[test]
    fn buffers_grow_within_the_limits_not_to_twice_them() {
        let mut reassembly = Reassembly::new(limits(100, 100 + PARTIAL_OVERHEAD, 4));
        reassembly.add(1, false, &[1; 60]).unwrap();
        // Doubling would make 120 bytes of room; the limits leave 100.
        reassembly.add(1, false, &[2; 30]).unwrap();
        assert_eq!(reassembly.partial[&1].bytes.capacity(), 100);
        assert_eq!(reassembly.buffered, 100 + PARTIAL_OVERHEAD);
        let whole = reassembly.add(1, true, &[3; 10]).unwrap().unwrap();
        assert_eq!(whole.len(), 100);
        assert_eq!(reassembly.buffered, 0);
    }

    #[test]
    fn what_is_counted_is_what_is_allocated() {
        let mut reassembly = Reassembly::new(limits(1 << 20, 1 << 20, 4));
        for size in [3, 5, 1000, 1, 70_000] {
            reassembly.add(1, false, &vec![7; size]).unwrap();
            let capacity = reassembly.partial[&1].bytes.capacity();
            assert_eq!(reassembly.buffered, capacity + PARTIAL_OVERHEAD);
        }
    }

    #[test]
    fn empty_pieces_count_against_the_number_of_partials() {
        let mut reassembly = Reassembly::new(limits(10, 1 << 20, 16));
        for message in 0..16 {
            reassembly.add(message, false, b"").unwrap();
        }
        let err = reassembly.add(16, false, b"").unwrap_err();
        assert_eq!(err.code, close_code::TOO_BIG);
        assert!(
            err.reason.contains("16 fragmented messages"),
            "{}",
            err.reason
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_next_deadline_is_the_oldest_partials_and_moves_on_when_it_completes() {
        let mut reassembly = Reassembly::new(limits(100, 1000, 4));
        let first = Instant::now();
        reassembly.add(7, false, b"a").unwrap();
        tokio::time::advance(Duration::from_millis(300)).await;
        reassembly.add(8, false, b"b").unwrap();
        assert_eq!(reassembly.deadline(), Some(first + Duration::from_secs(1)));
        reassembly.add(7, true, b"").unwrap().unwrap();
        assert_eq!(
            reassembly.deadline(),
            Some(first + Duration::from_millis(1300))
        );
        reassembly.add(8, true, b"").unwrap().unwrap();
        assert_eq!(reassembly.deadline(), None);
        assert_eq!(reassembly.buffered, 0);
    }
}
