//! The byte budget of one session's outbound side: every message queued for
//! the peer is counted from the moment it is queued until the writer has
//! flushed it, so a peer that stops reading pins at most the budget.

use std::sync::atomic::{AtomicUsize, Ordering};

/// What one queued message costs beyond its bytes: the queue entry and its
/// bookkeeping. Charged so that a flood of tiny frames is bounded too.
pub(crate) const ENTRY_OVERHEAD: usize = 64;

/// Bytes held for the peer, against a limit.
#[derive(Debug)]
pub(crate) struct Budget {
    held: AtomicUsize,
    limit: usize,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            held: AtomicUsize::new(0),
            limit,
        }
    }

    /// Takes `cost` bytes if they fit. A message larger than the whole
    /// budget still goes when nothing else is held, or it could never go.
    pub(crate) fn try_take(&self, cost: usize) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                let fits = held.checked_add(cost).is_some_and(|n| n <= self.limit);
                (fits || held == 0).then(|| held.saturating_add(cost))
            })
            .is_ok()
    }

    /// Gives back `cost` bytes taken earlier.
    pub(crate) fn release(&self, cost: usize) {
        if cost > 0 {
            self.held.fetch_sub(cost, Ordering::AcqRel);
        }
    }

    /// Whether more than half the limit is held.
    pub(crate) fn over_half(&self) -> bool {
        self.held.load(Ordering::Relaxed) > self.limit / 2
    }

    /// Bytes held now.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_what_fits_and_one_oversized_message_when_empty() {
        let budget = Budget::new(100);
        assert!(budget.try_take(60));
        assert!(!budget.try_take(50), "60 + 50 is over 100");
        assert!(budget.try_take(40));
        budget.release(100);
        assert!(budget.try_take(500), "alone, a large message may go");
        assert!(!budget.try_take(1));
        budget.release(500);
        assert_eq!(budget.held(), 0);
    }
}
