//! Token-bucket rate limiting, on tokio's clock so that tests can pause time.
//! Hand-written rather than taken from `governor`: it must count on tokio's
//! clock, and the session also needs the streak of refusals to spot abuse.

use std::time::Duration;

use tokio::time::Instant;

/// A rate limit: `per_second` on average, with bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Sustained rate, in events per second.
    pub per_second: u32,
    /// Events allowed at once after a quiet period; at least 1.
    pub burst: u32,
}

impl RateLimit {
    /// `per_second` on average with bursts of `burst`.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self { per_second, burst }
    }
}

/// A token bucket: starts full, refills continuously at the limit's rate.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            tokens: f64::from(limit.burst.max(1)),
            refilled: Instant::now(),
        }
    }

    /// Takes a token if one is available.
    pub(crate) fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.refilled);
        self.refilled = now;
        let capacity = f64::from(self.limit.burst.max(1));
        self.tokens =
            (self.tokens + elapsed.as_secs_f64() * f64::from(self.limit.per_second)).min(capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until the next token.
    pub(crate) fn wait_time(&self) -> Duration {
        if self.tokens >= 1.0 || self.limit.per_second == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64((1.0 - self.tokens) / f64::from(self.limit.per_second))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bucket_allows_its_burst_then_its_rate() {
        let mut bucket = TokenBucket::new(RateLimit::new(10, 3));
        assert!((0..3).all(|_| bucket.take()));
        assert!(!bucket.take());
        assert_eq!(bucket.wait_time(), Duration::from_millis(100));
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(bucket.take());
        assert!(!bucket.take());
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(
            (0..3).all(|_| bucket.take()),
            "refills up to the burst only"
        );
        assert!(!bucket.take());
    }
}
