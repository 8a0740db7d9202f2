//! [`ReconnectPolicy`]: how long a reconnecting client waits before each
//! attempt, and when it gives up.

use std::time::Duration;

/// When a [`ReconnectingClient`](crate::ReconnectingClient) tries again
/// after losing its connection (or failing to make one): the delay before
/// each attempt, capped at [`max_delay`](Self::max_delay), and how many
/// attempts in a row it makes before it gives up and closes.
///
/// The default is exponential backoff with jitter: 100 ms, then twice as
/// long each time up to 30 s, each delay drawn between half and all of
/// that, forever. Jitter spreads the reconnects of many clients whose
/// server restarted, so that they do not all arrive in the same
/// millisecond.
///
/// ```
/// # extern crate rpc_core as rpc;
/// use std::time::Duration;
/// use rpc::ReconnectPolicy;
///
/// let policy = ReconnectPolicy::exponential(Duration::from_millis(50))
///     .max_delay(Duration::from_secs(5))
///     .max_attempts(20);
/// assert!(policy.delay(1) <= Duration::from_millis(50));
/// assert!(policy.delay(30) <= Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    backoff: Backoff,
    max_delay: Duration,
    max_attempts: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
enum Backoff {
    /// `initial * 2^(attempt - 1)`, with jitter.
    Exponential { initial: Duration },
    /// `initial + step * (attempt - 1)`.
    Linear { initial: Duration, step: Duration },
    /// The same delay every time.
    Fixed(Duration),
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self::exponential(Duration::from_millis(100))
    }
}

impl ReconnectPolicy {
    /// Exponential backoff with jitter: attempt `n` waits between half and
    /// all of `initial * 2^(n - 1)`, at most 30 s unless
    /// [`max_delay`](Self::max_delay) says otherwise.
    pub fn exponential(initial: Duration) -> Self {
        Self::with(Backoff::Exponential { initial })
    }

    /// Linear backoff: attempt `n` waits `initial + step * (n - 1)`.
    pub fn linear(initial: Duration, step: Duration) -> Self {
        Self::with(Backoff::Linear { initial, step })
    }

    /// The same delay before every attempt.
    pub fn fixed(delay: Duration) -> Self {
        Self::with(Backoff::Fixed(delay))
    }

    fn with(backoff: Backoff) -> Self {
        Self {
            backoff,
            max_delay: Duration::from_secs(30),
            max_attempts: None,
        }
    }

    /// Caps every delay (default 30 s).
    pub fn max_delay(mut self, max: Duration) -> Self {
        self.max_delay = max;
        self
    }

    /// Gives up after `attempts` failed attempts in a row (default: never).
    /// The count starts again at every successful connection.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// Whether attempt number `attempt` (counting from 1) may be made.
    pub fn allows(&self, attempt: u32) -> bool {
        self.max_attempts.is_none_or(|max| attempt <= max)
    }

    /// The delay before attempt number `attempt` (counting from 1). Drawn
    /// anew at each call for the exponential policy.
    pub fn delay(&self, attempt: u32) -> Duration {
        let step = attempt.saturating_sub(1);
        let delay = match &self.backoff {
            Backoff::Exponential { initial } => {
                let full = initial
                    .saturating_mul(2_u32.saturating_pow(step.min(31)))
                    .min(self.max_delay);
                // "Equal jitter": never less than half, so a crowd spreads
                // out without anyone retrying at once.
                full / 2 + full.mul_f64(rand::random_range(0.0..0.5))
            }
            Backoff::Linear { initial, step: add } => {
                initial.saturating_add(add.saturating_mul(step))
            }
            Backoff::Fixed(delay) => *delay,
        };
        delay.min(self.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn exponential_doubles_within_its_jitter_up_to_the_cap() {
        let policy = ReconnectPolicy::exponential(100 * MS).max_delay(1000 * MS);
        for _ in 0..100 {
            let first = policy.delay(1);
            assert!((50 * MS..=100 * MS).contains(&first), "{first:?}");
            let third = policy.delay(3);
            assert!((200 * MS..=400 * MS).contains(&third), "{third:?}");
            let late = policy.delay(40);
            assert!((500 * MS..=1000 * MS).contains(&late), "{late:?}");
        }
    }

    #[test]
    fn jitter_spreads_the_delays() {
        let policy = ReconnectPolicy::exponential(Duration::from_secs(1));
        let delays: std::collections::HashSet<_> = (0..20).map(|_| policy.delay(4)).collect();
        assert!(delays.len() > 10, "{delays:?}");
    }

    #[test]
    fn linear_and_fixed_are_exact() {
        let linear = ReconnectPolicy::linear(100 * MS, 50 * MS).max_delay(300 * MS);
        assert_eq!(
            [1, 2, 3, 4, 5, 6].map(|n| linear.delay(n)),
            [100 * MS, 150 * MS, 200 * MS, 250 * MS, 300 * MS, 300 * MS]
        );
        let fixed = ReconnectPolicy::fixed(70 * MS);
        assert_eq!(fixed.delay(1), 70 * MS);
        assert_eq!(fixed.delay(1000), 70 * MS);
    }

    #[test]
    fn attempts_are_unlimited_unless_capped() {
        assert!(ReconnectPolicy::default().allows(u32::MAX));
        let capped = ReconnectPolicy::fixed(MS).max_attempts(3);
        assert!(capped.allows(3));
        assert!(!capped.allows(4));
    }
}
