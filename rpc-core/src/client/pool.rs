//! [`Pool`]: several reconnecting connections, to one server or many,
//! behind one [`Caller`]. Each request goes to the healthiest connection
//! (fewest in flight, lowest latency, fewest recent errors; round-robin
//! among equals), skips connections that are down or whose breaker is
//! open, and moves on to the next when one fails it without sending it.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures_util::{FutureExt, Stream};
use serde::{Serialize, de::DeserializeOwned};
use tokio::time::Instant;

use super::{
    BreakerState, ConnectionState, ReconnectingBuilder, ReconnectingClient, WhileDisconnected,
};
use crate::{
    caller::Caller,
    error::{ConnectError, Error},
    session::CallOptions,
    stream::{BidiStream, Incoming, StreamOptions},
};

/// Scores within this factor of the best count as equal, and share the
/// load round-robin: latency differences below it are mostly noise (a
/// scheduler hiccup moves one connection's EWMA by that much).
const EQUAL_WITHIN: f64 = 2.0;

/// Weight of the recent error rate in a member's score: a connection
/// failing one call in four scores twice as bad.
const ERROR_WEIGHT: f64 = 4.0;

impl ReconnectingBuilder {
    /// Starts a [`Pool`] of one reconnecting connection per entry of
    /// `urls` (name a URL twice for two connections to that server), each
    /// with this builder's routers, configuration, policy and hooks.
    ///
    /// Members fail fast while disconnected, so that the pool can route
    /// around them; the pool itself waits for a member (or fails at once)
    /// as [`while_disconnected`](Self::while_disconnected) says. Members
    /// get circuit breakers ([`BreakerConfig::default`](crate::BreakerConfig::default) unless
    /// [`breakers`](Self::breakers) says otherwise).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start), for any of the URLs; `InvalidUrl` also
    /// for an empty list.
    pub fn pool<I, U>(self, urls: I) -> Result<Pool, ConnectError>
    where
        I: IntoIterator<Item = U>,
        U: AsRef<str>,
    {
        let urls: Vec<U> = urls.into_iter().collect();
        let Some(first) = urls.first() else {
            return Err(ConnectError::InvalidUrl {
                url: String::new(),
                why: "a pool needs at least one URL",
            });
        };
        let (client, mut settings) = self.into_parts();
        let while_disconnected = settings.while_disconnected;
        settings.while_disconnected = WhileDisconnected::FailFast;
        settings.breakers = Some(settings.breakers.unwrap_or_default());
        let first = client.connector(first.as_ref())?;
        let call_timeout = first.config.session.call_timeout;
        let connectors = urls
            .iter()
            .map(|url| first.to(url.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let members = connectors
            .into_iter()
            .map(|connector| ReconnectingClient::launch(connector, settings.clone()))
            .collect();
        Ok(Pool {
            inner: Arc::new(Inner {
                members,
                next: AtomicUsize::new(0),
                while_disconnected,
                call_timeout,
            }),
        })
    }
}

/// Several [`ReconnectingClient`]s behind one [`Caller`], from
/// [`ReconnectingBuilder::pool`]: stubs made from it
/// (`CalculatorClient::new(&pool)`) keep working while any member is up.
///
/// A request goes to the member with the best score, `(in flight + 1) ×
/// latency EWMA × (1 + 4 × recent error rate)`, among members that are
/// connected and whose endpoint and method breakers are not open; members
/// within twice the best score take turns. A request a member fails without
/// sending it (disconnected, breaker open, queue full, `busy`, `shutting
/// down`) goes to the next member. A call in flight when its member's link
/// drops is not moved: it fails with [`Error::Indeterminate`], or, when
/// idempotent, is retried by that member once it reconnects (the server
/// that may have run it is the one that can de-duplicate it).
///
/// ```no_run
/// # extern crate rpc_core as rpc;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = rpc::Client::builder()
///     .reconnect()
///     .pool(["ws://10.0.0.1:9000/", "ws://10.0.0.2:9000/"])?;
/// let sum: i64 = pool.call("add", &(1_i64, 2_i64)).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Pool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    members: Vec<ReconnectingClient>,
    /// Where the next round-robin turn starts.
    next: AtomicUsize,
    while_disconnected: WhileDisconnected,
    call_timeout: Duration,
}

impl Pool {
    /// The members, in the order of the URLs: their state, latency and
    /// breakers.
    pub fn members(&self) -> &[ReconnectingClient] {
        &self.inner.members
    }

    /// How many members are connected now.
    pub fn connected(&self) -> usize {
        self.inner
            .members
            .iter()
            .filter(|member| member.state() == ConnectionState::Connected)
            .count()
    }

    /// Calls `method` with `args` on the healthiest member (see [`Pool`]).
    ///
    /// # Errors
    ///
    /// As [`ReconnectingClient::call`]; the last member's error when every
    /// member failed it unsent.
    pub async fn call<A, R>(&self, method: &str, args: &A) -> Result<R, Error>
    where
        A: Serialize + ?Sized + Sync,
        R: DeserializeOwned,
    {
        Caller::call_with(self, method, args, CallOptions::default()).await
    }

    /// Closes every member for good.
    pub async fn close(&self) {
        futures_util::future::join_all(self.inner.members.iter().map(ReconnectingClient::close))
            .await;
    }

    /// The index of the member to try next for `method`, among those not
    /// `tried`.
    fn pick(&self, method: &str, tried: &[bool]) -> Option<usize> {
        let members = &self.inner.members;
        let scores: Vec<Option<f64>> = members
            .iter()
            .zip(tried)
            .map(|(member, &tried)| if tried { None } else { score(member, method) })
            .collect();
        let best = scores.iter().flatten().copied().reduce(f64::min)?;
        let turn = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let equals: Vec<usize> = scores
            .iter()
            .enumerate()
            .filter(|(_, score)| score.is_some_and(|score| score <= best * EQUAL_WITHIN))
            .map(|(index, _)| index)
            .collect();
        Some(equals[turn % equals.len()])
    }

    /// No member can take a request: when some are connected, their
    /// breakers are open, and the request fails fast; otherwise waits
    /// until one is connected, or fails as the pool's
    /// [`WhileDisconnected`] says.
    async fn none_ready(&self, deadline: Instant) -> Result<(), Error> {
        if self.connected() > 0 {
            let retry_in = self
                .inner
                .members
                .iter()
                .filter_map(|member| match member.breaker_state() {
                    Some(BreakerState::Open { retry_in }) => Some(retry_in),
                    _ => None,
                })
                .min()
                .unwrap_or_default();
            return Err(Error::CircuitOpen { retry_in });
        }
        if self.inner.while_disconnected == WhileDisconnected::FailFast {
            return Err(Error::Disconnected);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let waits = self
            .inner
            .members
            .iter()
            .map(|member| member.connected(left).boxed());
        futures_util::future::select_ok(waits).await.map(drop)
    }

    /// Runs `request` on the best member, then the next, until one does not
    /// fail it unsent.
    async fn route<'a, T, F, Fut>(
        &'a self,
        method: &str,
        timeout: Option<Duration>,
        request: F,
    ) -> Result<T, Error>
    where
        F: Fn(&'a ReconnectingClient, Duration) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let deadline = crate::deadline::after(timeout.unwrap_or(self.inner.call_timeout));
        let mut tried = vec![false; self.inner.members.len()];
        let mut last = None;
        loop {
            let Some(index) = self.pick(method, &tried) else {
                if let Some(err) = last {
                    return Err(err);
                }
                self.none_ready(deadline).await?;
                continue;
            };
            tried[index] = true;
            let left = deadline.saturating_duration_since(Instant::now());
            match request(&self.inner.members[index], left).await {
                Err(err) if err.is_retryable() => last = Some(err),
                outcome => return outcome,
            }
        }
    }
}

/// A member's score for `method` (lower is better), `None` when it cannot
/// take the request: not connected, or a breaker is open.
fn score(member: &ReconnectingClient, method: &str) -> Option<f64> {
    if member.state() != ConnectionState::Connected {
        return None;
    }
    let open = |state: Option<BreakerState>| matches!(state, Some(BreakerState::Open { .. }));
    if open(member.breaker_state()) || open(member.method_breaker_state(method)) {
        return None;
    }
    let latency = member.latency();
    // An unmeasured member counts as fast, so that it gets measured.
    let ewma = latency
        .ewma
        .map_or(0.0, |ewma| ewma.as_secs_f64())
        .max(50e-6);
    #[allow(
        clippy::cast_precision_loss,
        reason = "in-flight counts are far below 2^52"
    )]
    let load = (member.in_flight() + 1) as f64;
    Some(load * ewma * (1.0 + ERROR_WEIGHT * latency.error_rate))
}

impl Caller for Pool {
    async fn call_with<A, R>(
        &self,
        method: &str,
        args: &A,
        options: CallOptions,
    ) -> Result<R, Error>
    where
        A: Serialize + ?Sized + Sync,
        R: DeserializeOwned,
    {
        // One operation id for every member the call may go to.
        let options = super::reconnect::with_operation_id(options);
        self.route(method, options.timeout, |member, left| {
            member.call_with(method, args, options.clone().timeout(left))
        })
        .await
    }

    async fn cast_with<A>(&self, method: &str, args: &A, options: CallOptions) -> Result<(), Error>
    where
        A: Serialize + ?Sized + Sync,
    {
        self.route(method, options.timeout, |member, _| {
            member.cast_with(method, args, options.clone())
        })
        .await
    }

    async fn open<A, T>(
        &self,
        method: &str,
        args: &A,
        options: StreamOptions,
    ) -> Result<Incoming<T>, Error>
    where
        A: Serialize + ?Sized + Sync,
        T: DeserializeOwned,
    {
        self.route(method, options.idle_timeout, |member, _| {
            member.open(method, args, options.clone())
        })
        .await
    }

    async fn open_bidi<A, U, T, S>(
        &self,
        method: &str,
        args: &A,
        uploads: S,
        options: StreamOptions,
    ) -> Result<BidiStream<T>, Error>
    where
        A: Serialize + ?Sized + Sync,
        U: Serialize + Send + 'static,
        T: DeserializeOwned,
        S: Stream<Item = U> + Send + 'static,
    {
        // The uploads go with the first member: no failover.
        let member = self.first_member(method, options.idle_timeout).await?;
        member.open_bidi(method, args, uploads, options).await
    }

    async fn call_with_upload<A, U, R, S>(
        &self,
        method: &str,
        args: &A,
        uploads: S,
        options: StreamOptions,
    ) -> Result<R, Error>
    where
        A: Serialize + ?Sized + Sync,
        U: Serialize + Send + 'static,
        R: DeserializeOwned,
        S: Stream<Item = U> + Send + 'static,
    {
        let member = self.first_member(method, options.idle_timeout).await?;
        member
            .call_with_upload(method, args, uploads, options)
            .await
    }
}

impl Pool {
    /// The best member for a request that cannot move to another.
    async fn first_member(
        &self,
        method: &str,
        timeout: Option<Duration>,
    ) -> Result<&ReconnectingClient, Error> {
        let deadline = crate::deadline::after(timeout.unwrap_or(self.inner.call_timeout));
        let none_tried = vec![false; self.inner.members.len()];
        loop {
            if let Some(index) = self.pick(method, &none_tried) {
                return Ok(&self.inner.members[index]);
            }
            self.none_ready(deadline).await?;
        }
    }
}
