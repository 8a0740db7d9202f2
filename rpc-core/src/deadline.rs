//! Deadlines from durations users set. `Duration::MAX` (or anything too
//! long for an `Instant`) is how a user says "never": adding it to now
//! would panic, so it becomes a deadline about 30 years away instead.

use std::time::Duration;

use tokio::time::Instant;

/// How far ahead "never" is: beyond the life of any session or process.
const NEVER: Duration = Duration::from_secs(30 * 365 * 86_400);

/// `after` from `now`, or [`NEVER`] from `now` when that overflows.
pub(crate) fn from(now: Instant, after: Duration) -> Instant {
    now.checked_add(after).unwrap_or_else(|| now + NEVER)
}

/// `after` from now, as [`from`].
pub(crate) fn after(after: Duration) -> Instant {
    from(Instant::now(), after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_longest_duration_means_never_rather_than_a_panic() {
        let now = Instant::now();
        assert_eq!(
            from(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        assert_eq!(from(now, Duration::MAX), now + NEVER);
        assert!(after(Duration::MAX) > now + Duration::from_secs(365 * 86_400));
    }
}
