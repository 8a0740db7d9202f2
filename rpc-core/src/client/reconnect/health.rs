//! The health of a reconnecting client's endpoint, as its calls show it:
//! latency statistics, calls in flight, and the circuit breakers (of the
//! endpoint, and of each method) that stop calls to an endpoint that keeps
//! failing.

use std::{
    future::Future,
    sync::atomic::{AtomicUsize, Ordering},
};

use tokio::time::Instant;

use crate::{
    client::{BreakerPermit, Breakers, LatencyStats},
    error::Error,
    protocol::ErrorCode,
};

/// What one endpoint's calls record.
#[derive(Debug, Default)]
pub(super) struct Health {
    pub(super) latency: LatencyStats,
    pub(super) breakers: Option<Breakers>,
    pub(super) in_flight: AtomicUsize,
}

/// How a finished request counts.
enum Outcome {
    /// A round trip happened (an answer, the handler's own error included).
    Answered,
    /// The endpoint failed it: the link dropped under it, or the peer was
    /// too busy or is going away. Counts against the endpoint's breaker.
    EndpointFailed,
    /// The method failed it: no answer in time, or an internal error (a
    /// panicking handler). Counts against the method's breaker, so that one
    /// broken method does not take its endpoint out of service.
    MethodFailed,
    /// It never left: nothing learnt about the endpoint.
    Unsent,
}

fn outcome<T>(result: &Result<T, Error>) -> Outcome {
    let Err(err) = result else {
        return Outcome::Answered;
    };
    match err {
        Error::Indeterminate(_) => Outcome::EndpointFailed,
        Error::Timeout(_) => Outcome::MethodFailed,
        // An answer of the wrong type is still an answer.
        Error::Decode(_) => Outcome::Answered,
        Error::Remote(remote) => match remote.code() {
            ErrorCode::BUSY | ErrorCode::SHUTTING_DOWN => Outcome::EndpointFailed,
            ErrorCode::INTERNAL => Outcome::MethodFailed,
            // The handler's own error, bad arguments, ...: a round trip.
            _ => Outcome::Answered,
        },
        // Closed, disconnected, a full local queue, an open breaker,
        // encoding: nothing reached the endpoint.
        _ => Outcome::Unsent,
    }
}

impl Health {
    /// Runs `request` if the breakers let it through, and records how it
    /// went.
    pub(super) async fn track<T>(
        &self,
        method: &str,
        request: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let (endpoint, method) = self.permits(method)?.unzip();
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let _in_flight = Decrement(&self.in_flight);
        let started = Instant::now();
        let result = request.await;
        match outcome(&result) {
            Outcome::Answered => {
                self.latency.record(started.elapsed());
                endpoint
                    .into_iter()
                    .chain(method)
                    .for_each(BreakerPermit::success);
            }
            Outcome::EndpointFailed => {
                self.latency.record_error();
                endpoint.into_iter().for_each(BreakerPermit::failure);
            }
            Outcome::MethodFailed => {
                self.latency.record_error();
                method.into_iter().for_each(BreakerPermit::failure);
            }
            // Dropping the permits counts neither way.
            Outcome::Unsent => {}
        }
        result
    }

    /// The endpoint's and the method's permits, or the error of the first
    /// breaker that is open.
    fn permits(&self, method: &str) -> Result<Option<(BreakerPermit, BreakerPermit)>, Error> {
        let Some(breakers) = &self.breakers else {
            return Ok(None);
        };
        let endpoint = breakers.endpoint().try_acquire()?;
        let method = breakers.method(method).try_acquire()?;
        Ok(Some((endpoint, method)))
    }
}

/// Takes one from a count when dropped, however the request ended.
struct Decrement<'a>(&'a AtomicUsize);

impl Drop for Decrement<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
