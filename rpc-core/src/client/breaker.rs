//! Circuit breakers: after repeated failures, calls fail fast for a cooldown
//! instead of piling onto a peer (or a method) that is down; then one probe
//! call decides whether to close again.
//!
//! A breaker only counts: which outcomes are failures is the caller's
//! choice. The pool counts transport-level failures ([`Error::is_closed`],
//! timeouts, `busy`) and not the handlers' own errors, which say the peer
//! works. Time is tokio's, so that tests can pause it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use tokio::time::Instant;

use crate::error::Error;

/// Method breakers a [`Breakers`] keeps apart; methods past this share one.
const MAX_METHODS: usize = 1024;

/// When a [`CircuitBreaker`] opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker; 0 counts as 1.
    /// Default: 5.
    pub failure_threshold: u32,
    /// How long the breaker stays open before it lets one probe call
    /// through. Default: 5 s.
    pub cooldown: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cooldown: Duration::from_secs(5),
        }
    }
}

impl BreakerConfig {
    /// Sets [`failure_threshold`](Self::failure_threshold).
    pub fn failure_threshold(mut self, failures: u32) -> Self {
        self.failure_threshold = failures;
        self
    }

    /// Sets [`cooldown`](Self::cooldown).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }
}

/// Where a [`CircuitBreaker`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakerState {
    /// Calls pass; failures are counted.
    Closed,
    /// Calls fail fast with [`Error::CircuitOpen`].
    Open {
        /// Time left until a probe may pass.
        retry_in: Duration,
    },
    /// The cooldown is over: one probe call passes (or has passed and is
    /// awaited), and its outcome closes or re-opens the breaker.
    HalfOpen,
}

/// A circuit breaker: a cheap handle (clones share the state).
///
/// Each call first takes a [`BreakerPermit`] with
/// [`try_acquire`](Self::try_acquire), then reports on it with
/// [`BreakerPermit::success`] or [`BreakerPermit::failure`].
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: BreakerConfig,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    /// Bumped on every change of phase: a permit's outcome counts only in
    /// the phase it was taken in, so late answers to calls made before the
    /// breaker opened neither re-open nor close it.
    generation: u64,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State {
                    phase: Phase::Closed { failures: 0 },
                    generation: 0,
                }),
            }),
        }
    }

    /// Where the breaker stands now.
    pub fn state(&self) -> BreakerState {
        let now = Instant::now();
        match self.shared.lock(now).phase {
            Phase::Closed { .. } => BreakerState::Closed,
            Phase::Open { until } => BreakerState::Open {
                retry_in: until - now,
            },
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Lets a call through: always while closed; once the cooldown is over,
    /// a single probe until its outcome is known.
    ///
    /// # Errors
    ///
    /// [`Error::CircuitOpen`] while open, with the time left of the
    /// cooldown; and while a probe is out, with a whole cooldown, the
    /// longest it would take if the probe failed.
    pub fn try_acquire(&self) -> Result<BreakerPermit, Error> {
        let now = Instant::now();
        let mut state = self.shared.lock(now);
        let probe = match &mut state.phase {
            Phase::Closed { .. } => false,
            Phase::Open { until } => {
                return Err(Error::CircuitOpen {
                    retry_in: *until - now,
                });
            }
            Phase::HalfOpen { probing: true } => {
                return Err(Error::CircuitOpen {
                    retry_in: self.shared.config.cooldown,
                });
            }
            Phase::HalfOpen { probing } => {
                *probing = true;
                true
            }
        };
        Ok(BreakerPermit {
            shared: Arc::clone(&self.shared),
            generation: state.generation,
            probe,
            settled: false,
        })
    }
}

impl Default for CircuitBreaker {
    /// A closed breaker with [`BreakerConfig::default`].
    fn default() -> Self {
        Self::new(BreakerConfig::default())
    }
}

impl Shared {
    /// The state, moved from open to half-open if the cooldown is over.
    fn lock(&self, now: Instant) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; if something did, the
        // state is still a valid one.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Phase::Open { until } = state.phase
            && now >= until
        {
            state.enter(Phase::HalfOpen { probing: false });
        }
        state
    }

    fn settle(&self, generation: u64, probe: bool, outcome: Outcome) {
        let now = Instant::now();
        let mut state = self.lock(now);
        if state.generation != generation {
            return;
        }
        let open = Phase::Open {
            until: crate::deadline::from(now, self.config.cooldown),
        };
        match (&mut state.phase, probe, outcome) {
            (Phase::Closed { failures }, false, Outcome::Success) => *failures = 0,
            (Phase::Closed { failures }, false, Outcome::Failure) => {
                *failures += 1;
                if *failures >= self.config.failure_threshold.max(1) {
                    state.enter(open);
                }
            }
            (Phase::HalfOpen { .. }, true, Outcome::Success) => {
                state.enter(Phase::Closed { failures: 0 });
            }
            (Phase::HalfOpen { .. }, true, Outcome::Failure) => state.enter(open),
            (Phase::HalfOpen { probing }, true, Outcome::Unknown) => *probing = false,
            _ => {}
        }
    }
}

impl State {
    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        self.generation += 1;
    }
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Success,
    Failure,
    /// Dropped without a verdict (the call was cancelled): counts as
    /// neither, but frees the probe slot.
    Unknown,
}

/// Leave to make one call through a [`CircuitBreaker`]; report how it went
/// with [`success`](Self::success) or [`failure`](Self::failure). Dropping
/// it without either counts as neither, and lets another probe through if
/// this was one.
#[derive(Debug)]
#[must_use = "report the call's outcome with `success()` or `failure()`"]
pub struct BreakerPermit {
    shared: Arc<Shared>,
    generation: u64,
    probe: bool,
    settled: bool,
}

impl BreakerPermit {
    /// The call went through: resets the failure count, or closes the
    /// breaker if this was the probe.
    pub fn success(mut self) {
        self.settle(Outcome::Success);
    }

    /// The call failed in a way that counts: opens the breaker at the
    /// threshold, or again for another cooldown if this was the probe.
    pub fn failure(mut self) {
        self.settle(Outcome::Failure);
    }

    /// Whether this is the one probe of a half-open breaker.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    fn settle(&mut self, outcome: Outcome) {
        self.settled = true;
        self.shared.settle(self.generation, self.probe, outcome);
    }
}

impl Drop for BreakerPermit {
    fn drop(&mut self) {
        if !self.settled {
            self.settle(Outcome::Unknown);
        }
    }
}

/// The breakers of one endpoint: one for the endpoint as a whole and one per
/// method, so that a failing method fails fast without closing off the
/// others. A cheap handle (clones share the breakers).
///
/// Method breakers are made on first use, up to 1024 distinct methods;
/// methods past those share one overflow breaker, which bounds memory when
/// method names come from outside.
#[derive(Debug, Clone)]
pub struct Breakers {
    inner: Arc<BreakersInner>,
}

#[derive(Debug)]
struct BreakersInner {
    config: BreakerConfig,
    max_methods: usize,
    endpoint: CircuitBreaker,
    overflow: CircuitBreaker,
    methods: Mutex<HashMap<Box<str>, CircuitBreaker>>,
}

impl Breakers {
    /// Breakers that all use `config`.
    pub fn new(config: BreakerConfig) -> Self {
        Self::with_max_methods(config, MAX_METHODS)
    }

    fn with_max_methods(config: BreakerConfig, max_methods: usize) -> Self {
        Self {
            inner: Arc::new(BreakersInner {
                config,
                max_methods,
                endpoint: CircuitBreaker::new(config),
                overflow: CircuitBreaker::new(config),
                methods: Mutex::default(),
            }),
        }
    }

    /// The endpoint's breaker.
    pub fn endpoint(&self) -> &CircuitBreaker {
        &self.inner.endpoint
    }

    /// The breaker of `method` (the overflow breaker once 1024 others
    /// have one).
    pub fn method(&self, method: &str) -> CircuitBreaker {
        let mut methods = self
            .inner
            .methods
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(breaker) = methods.get(method) {
            return breaker.clone();
        }
        if methods.len() >= self.inner.max_methods {
            return self.inner.overflow.clone();
        }
        let breaker = CircuitBreaker::new(self.inner.config);
        methods.insert(method.into(), breaker.clone());
        breaker
    }
}

impl Default for Breakers {
    /// Breakers with [`BreakerConfig::default`].
    fn default() -> Self {
        Self::new(BreakerConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOLDOWN: Duration = Duration::from_secs(5);

    fn breaker(threshold: u32) -> CircuitBreaker {
        CircuitBreaker::new(
            BreakerConfig::default()
                .failure_threshold(threshold)
                .cooldown(COOLDOWN),
        )
    }

    fn fail(breaker: &CircuitBreaker, times: u32) {
        for _ in 0..times {
            breaker.try_acquire().expect("closed").failure();
        }
    }

    fn retry_in(breaker: &CircuitBreaker) -> Duration {
        match breaker.try_acquire() {
            Err(Error::CircuitOpen { retry_in }) => retry_in,
            other => panic!("expected CircuitOpen, got {other:?}"),
        }
    }

    /// Opens `breaker` and waits out its cooldown.
    async fn half_open(breaker: &CircuitBreaker, threshold: u32) {
        fail(breaker, threshold);
        tokio::time::advance(COOLDOWN).await;
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures() {
        let breaker = breaker(3);
        fail(&breaker, 2);
        assert_eq!(breaker.state(), BreakerState::Closed);
        fail(&breaker, 1);
        assert_eq!(breaker.state(), BreakerState::Open { retry_in: COOLDOWN });
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_resets_the_count() {
        let breaker = breaker(3);
        fail(&breaker, 2);
        breaker.try_acquire().unwrap().success();
        fail(&breaker, 2);
        assert_eq!(breaker.state(), BreakerState::Closed);
        fail(&breaker, 1);
        assert!(matches!(breaker.state(), BreakerState::Open { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn fails_fast_while_open_with_a_shrinking_retry_in() {
        let breaker = breaker(1);
        fail(&breaker, 1);
        assert_eq!(retry_in(&breaker), COOLDOWN);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(retry_in(&breaker), Duration::from_secs(3));
        assert_eq!(
            breaker.state(),
            BreakerState::Open {
                retry_in: Duration::from_secs(3)
            }
        );
        let err = breaker.try_acquire().unwrap_err();
        assert!(err.is_retryable(), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn one_probe_passes_after_the_cooldown() {
        let breaker = breaker(2);
        half_open(&breaker, 2).await;
        let probe = breaker.try_acquire().expect("the probe passes");
        assert!(probe.is_probe());
        assert_eq!(retry_in(&breaker), COOLDOWN, "others still fail fast");
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        drop(probe);
    }

    #[tokio::test(start_paused = true)]
    async fn a_successful_probe_closes() {
        let breaker = breaker(2);
        half_open(&breaker, 2).await;
        breaker.try_acquire().unwrap().success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        let permit = breaker.try_acquire().unwrap();
        assert!(!permit.is_probe());
        permit.failure();
        assert_eq!(breaker.state(), BreakerState::Closed, "the count restarts");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_reopens_for_another_cooldown() {
        let breaker = breaker(2);
        half_open(&breaker, 2).await;
        breaker.try_acquire().unwrap().failure();
        assert_eq!(retry_in(&breaker), COOLDOWN);
        tokio::time::advance(COOLDOWN).await;
        assert!(breaker.try_acquire().unwrap().is_probe());
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_probe_frees_the_slot() {
        let breaker = breaker(1);
        half_open(&breaker, 1).await;
        drop(breaker.try_acquire().unwrap());
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        let probe = breaker.try_acquire().expect("another probe passes");
        assert!(probe.is_probe());
        probe.success();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn late_outcomes_of_an_earlier_phase_do_not_count() {
        let breaker = breaker(1);
        let early = breaker.try_acquire().unwrap();
        let late = breaker.try_acquire().unwrap();
        early.failure();
        late.success();
        assert!(
            matches!(breaker.state(), BreakerState::Open { .. }),
            "a call made before opening does not close it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn methods_have_their_own_breakers_up_to_the_cap() {
        let breakers = Breakers::with_max_methods(BreakerConfig::default().failure_threshold(1), 2);
        fail(&breakers.method("a"), 1);
        assert!(matches!(
            breakers.method("a").state(),
            BreakerState::Open { .. }
        ));
        assert_eq!(breakers.method("b").state(), BreakerState::Closed);
        assert_eq!(breakers.endpoint().state(), BreakerState::Closed);

        // "c" and "d" are past the cap: they share the overflow breaker.
        fail(&breakers.method("c"), 1);
        assert!(matches!(
            breakers.method("d").state(),
            BreakerState::Open { .. }
        ));
        assert_eq!(breakers.method("b").state(), BreakerState::Closed);
    }
}
