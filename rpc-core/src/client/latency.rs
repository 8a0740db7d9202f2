//! Latency statistics of one connection over a sliding time window:
//! percentiles, an EWMA the pool routes by, and the recent error rate.
//!
//! The window is a ring of [`SLICES`] HDR histograms, each covering
//! `window / SLICES` of time; a slice is cleared when its turn comes round
//! again, and a snapshot merges the live ones. Memory is thus bounded by the
//! slice count and the clamp on recorded values, whatever the call rate.
//! Time is tokio's, so that tests can pause it.

use std::{
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use hdrhistogram::Histogram;
use tokio::time::Instant;

/// Slices in the ring: samples leave the window in steps of `window / SLICES`.
const SLICES: usize = 6;

/// Two significant digits (1 % error) keep a slice to a few kilobytes; three
/// would cost eight times as much for precision no router needs.
const SIGFIG: u8 = 2;

/// Largest latency recorded, in microseconds (one hour): larger ones are
/// clamped, which bounds each histogram's size.
const MAX_MICROS: u64 = 3_600_000_000;

/// Weight of the newest sample in the EWMA: the last ten or so calls dominate.
const EWMA_WEIGHT: f64 = 0.2;

/// Latency and error statistics of one connection; a cheap handle (clones
/// share the statistics), safe to record into from many tasks.
///
/// [`record`](Self::record) the latency of each call that completed (a
/// handler's error is a completed round trip) and
/// [`record_error`](Self::record_error) each that failed at the transport
/// level; [`snapshot`](Self::snapshot) reads percentiles and the error rate
/// over the last `window`, and the EWMA over all calls.
#[derive(Clone)]
pub struct LatencyStats {
    inner: Arc<Mutex<Ring>>,
}

/// What a [`LatencyStats`] holds at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct LatencySnapshot {
    /// Latencies recorded within the window. When 0, the percentiles and
    /// `max` are [`Duration::ZERO`].
    pub count: u64,
    /// Errors recorded within the window.
    pub errors: u64,
    /// Median latency within the window (to 1 %).
    pub p50: Duration,
    /// 90th percentile latency within the window (to 1 %).
    pub p90: Duration,
    /// 99th percentile latency within the window (to 1 %).
    pub p99: Duration,
    /// Largest latency within the window (to 1 %).
    pub max: Duration,
    /// Exponentially weighted moving average of all latencies recorded,
    /// not only those within the window; `None` before the first. `None`
    /// sorts first, so a router that prefers the lowest tries an unmeasured
    /// connection first.
    pub ewma: Option<Duration>,
    /// `errors / (count + errors)` within the window; 0 without calls.
    pub error_rate: f64,
    /// The window the statistics cover.
    pub window: Duration,
}

impl LatencyStats {
    /// The window of [`LatencyStats::default`]: one minute.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

    /// Statistics over the last `window` (at least a few nanoseconds; samples
    /// leave it in steps of a sixth of it).
    pub fn new(window: Duration) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Ring::new(window))),
        }
    }

    /// Records the latency of a completed call; latencies over an hour
    /// count as an hour.
    pub fn record(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .min(MAX_MICROS);
        let mut ring = self.lock();
        let slice = ring.current(Instant::now());
        // Auto-resizing can only fail where usize cannot index the counts,
        // which the clamp above rules out; clamping is the fallback anyway.
        if slice.latencies.record(micros).is_err() {
            slice.latencies.saturating_record(micros);
        }
        ring.update_ewma(Duration::from_micros(micros));
    }

    /// Records a call that failed without a latency worth counting (the
    /// connection closed, the call timed out or was refused as busy).
    pub fn record_error(&self) {
        let mut ring = self.lock();
        ring.current(Instant::now()).errors += 1;
    }

    /// The statistics now.
    pub fn snapshot(&self) -> LatencySnapshot {
        self.lock().snapshot(Instant::now())
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        // Nothing panics while holding the lock; if something did, the
        // counts are still sound.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for LatencyStats {
    /// Statistics over [`LatencyStats::DEFAULT_WINDOW`].
    fn default() -> Self {
        Self::new(Self::DEFAULT_WINDOW)
    }
}

impl fmt::Debug for LatencyStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The histograms' counts would drown the output: show the summary.
        f.debug_tuple("LatencyStats")
            .field(&self.snapshot())
            .finish()
    }
}

/// The ring of slices and the EWMA.
struct Ring {
    window: Duration,
    slice_len: Duration,
    origin: Instant,
    slices: [Slice; SLICES],
    /// In seconds; `None` before the first sample.
    ewma: Option<f64>,
}

/// One slice of the window: the samples of one `slice_len` of time.
struct Slice {
    /// Which `slice_len` since `origin` the samples belong to.
    epoch: u64,
    latencies: Histogram<u32>,
    errors: u64,
}

impl Ring {
    fn new(window: Duration) -> Self {
        let slice_len =
            (window / u32::try_from(SLICES).unwrap_or(u32::MAX)).max(Duration::from_nanos(1));
        Self {
            window,
            slice_len,
            origin: Instant::now(),
            slices: std::array::from_fn(|_| Slice {
                epoch: 0,
                latencies: empty_histogram(),
                errors: 0,
            }),
            ewma: None,
        }
    }

    fn epoch(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(since / self.slice_len.as_nanos()).unwrap_or(u64::MAX)
    }

    /// The slice for `now`, cleared first if it last held an older epoch.
    fn current(&mut self, now: Instant) -> &mut Slice {
        let epoch = self.epoch(now);
        let slice = &mut self.slices[slot(epoch)];
        if slice.epoch != epoch {
            slice.epoch = epoch;
            slice.latencies.reset();
            slice.errors = 0;
        }
        slice
    }

    fn update_ewma(&mut self, latency: Duration) {
        let sample = latency.as_secs_f64();
        self.ewma = Some(match self.ewma {
            None => sample,
            Some(average) => average + EWMA_WEIGHT * (sample - average),
        });
    }

    fn snapshot(&self, now: Instant) -> LatencySnapshot {
        let epoch = self.epoch(now);
        let mut merged = empty_histogram();
        let mut errors = 0;
        // A slice is live while fewer than SLICES epochs have passed since
        // its own: no sample is older than the window.
        let live = self
            .slices
            .iter()
            .filter(|slice| epoch.saturating_sub(slice.epoch) < SLICES as u64);
        for slice in live {
            // Adding can only fail as recording can (see `record`).
            let _ = merged.add(&slice.latencies);
            errors += slice.errors;
        }
        let count = merged.len();
        let at = |quantile: f64| {
            if count == 0 {
                Duration::ZERO
            } else {
                Duration::from_micros(merged.value_at_quantile(quantile))
            }
        };
        let calls = count + errors;
        LatencySnapshot {
            count,
            errors,
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: at(1.0),
            ewma: self
                .ewma
                .map(|secs| Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)),
            error_rate: if calls == 0 {
                0.0
            } else {
                ratio(errors, calls)
            },
            window: self.window,
        }
    }
}

fn slot(epoch: u64) -> usize {
    // The remainder is below SLICES, so it fits.
    usize::try_from(epoch % SLICES as u64).unwrap_or(0)
}

fn empty_histogram() -> Histogram<u32> {
    // Auto-resizing from a small size: a slice grows only as far as the
    // latencies it sees, up to MAX_MICROS.
    Histogram::new(SIGFIG).expect("2 significant digits is in hdrhistogram's range (0 to 5)")
}

#[allow(
    clippy::cast_precision_loss,
    reason = "a rate needs no more than f64's 52 bits of the counts"
)]
fn ratio(part: u64, whole: u64) -> f64 {
    part as f64 / whole as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Whether `got` is within hdr's 1 % of `want`.
    fn near(got: Duration, want: Duration) -> bool {
        got.abs_diff(want) <= want / 100
    }

    #[tokio::test(start_paused = true)]
    async fn percentiles_of_a_known_distribution() {
        let stats = LatencyStats::default();
        for n in 1..=100 {
            stats.record(ms(n));
        }
        let snap = stats.snapshot();
        assert_eq!(snap.count, 100);
        assert!(near(snap.p50, ms(50)), "{snap:?}");
        assert!(near(snap.p90, ms(90)), "{snap:?}");
        assert!(near(snap.p99, ms(99)), "{snap:?}");
        assert!(near(snap.max, ms(100)), "{snap:?}");
        assert_eq!(snap.window, LatencyStats::DEFAULT_WINDOW);
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_snapshot_is_zero_without_an_ewma() {
        let snap = LatencyStats::new(ms(600)).snapshot();
        assert_eq!(snap.count, 0);
        assert_eq!(snap.errors, 0);
        assert_eq!(
            (snap.p50, snap.p99, snap.max),
            (Duration::ZERO, Duration::ZERO, Duration::ZERO)
        );
        assert_eq!(snap.ewma, None);
        assert!(snap.error_rate.abs() < f64::EPSILON);
    }

    #[tokio::test(start_paused = true)]
    async fn samples_leave_the_window_in_slices() {
        let stats = LatencyStats::new(Duration::from_secs(60));
        stats.record(ms(100));
        tokio::time::advance(Duration::from_secs(30)).await;
        stats.record(ms(200));
        stats.record_error();
        assert_eq!(stats.snapshot().count, 2);

        // 60 s after the first sample its slice has gone round; the second
        // is 30 s old and stays.
        tokio::time::advance(Duration::from_secs(30)).await;
        let snap = stats.snapshot();
        assert_eq!((snap.count, snap.errors), (1, 1));
        assert!(near(snap.p50, ms(200)), "{snap:?}");

        tokio::time::advance(Duration::from_secs(30)).await;
        let snap = stats.snapshot();
        assert_eq!((snap.count, snap.errors), (0, 0));
        assert_eq!(snap.max, Duration::ZERO);
        assert!(snap.ewma.is_some(), "the EWMA outlives the window");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slice_reused_after_a_long_idle_starts_empty() {
        let stats = LatencyStats::new(Duration::from_secs(6));
        stats.record(ms(5));
        // Exactly SLICES slices later the same slot comes round again.
        tokio::time::advance(Duration::from_secs(6)).await;
        stats.record(ms(7));
        let snap = stats.snapshot();
        assert_eq!(snap.count, 1);
        assert!(near(snap.max, ms(7)), "{snap:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn error_rate_is_errors_over_calls_in_the_window() {
        let stats = LatencyStats::new(Duration::from_secs(60));
        for _ in 0..3 {
            stats.record(ms(1));
        }
        stats.record_error();
        let snap = stats.snapshot();
        assert_eq!((snap.count, snap.errors), (3, 1));
        assert!((snap.error_rate - 0.25).abs() < 1e-9, "{snap:?}");

        tokio::time::advance(Duration::from_secs(61)).await;
        stats.record_error();
        assert!((stats.snapshot().error_rate - 1.0).abs() < 1e-9);
    }

    #[tokio::test(start_paused = true)]
    async fn the_ewma_follows_recent_latencies() {
        let stats = LatencyStats::default();
        stats.record(ms(100));
        assert_eq!(stats.snapshot().ewma, Some(ms(100)));
        stats.record(ms(200));
        let ewma = stats.snapshot().ewma.unwrap();
        assert!(near(ewma, ms(120)), "{ewma:?}");
        for _ in 0..50 {
            stats.record(ms(10));
        }
        let ewma = stats.snapshot().ewma.unwrap();
        assert!(near(ewma, ms(10)), "{ewma:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn latencies_over_an_hour_are_clamped_and_clones_share() {
        let stats = LatencyStats::default();
        stats.clone().record(Duration::from_secs(10 * 3600));
        let snap = stats.snapshot();
        assert_eq!(snap.count, 1);
        assert!(near(snap.max, Duration::from_secs(3600)), "{snap:?}");
    }
}
