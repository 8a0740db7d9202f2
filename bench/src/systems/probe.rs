//! Where fan-out notifications are counted on the client side.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Counts `tick` notifications of the current round across every connection
/// of a fan-out, and wakes the waiter when the last one arrives.
#[derive(Debug, Default)]
pub struct Probe {
    round: AtomicU64,
    remaining: AtomicUsize,
    done: Notify,
}

impl Probe {
    /// A probe expecting nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Expects `count` ticks of `round` (rounds start at 1). Call before the
    /// broadcast is triggered.
    pub fn arm(&self, round: u64, count: usize) {
        self.remaining.store(count, Ordering::Relaxed);
        self.round.store(round, Ordering::Release);
    }

    /// Records one tick; ticks of other rounds, and of round 0 (which is
    /// never armed: it serves to count subscribers), are ignored.
    pub fn record(&self, round: u64) {
        if round != 0
            && round == self.round.load(Ordering::Acquire)
            && self.remaining.fetch_sub(1, Ordering::AcqRel) == 1
        {
            self.done.notify_one();
        }
    }

    /// Waits until every expected tick of the armed round has arrived.
    pub async fn wait(&self) {
        self.done.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_after_the_last_tick_of_the_round() {
        let probe = Probe::new();
        probe.arm(1, 2);
        probe.record(1);
        probe.record(7);
        probe.record(0);
        probe.record(1);
        tokio::time::timeout(std::time::Duration::from_secs(1), probe.wait())
            .await
            .expect("woken");
    }
}
