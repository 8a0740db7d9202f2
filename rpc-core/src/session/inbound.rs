//! Calls and casts from the peer: admission (in-flight limit, draining,
//! routing), deadlines, cancellation, and the answer. Admitted handlers run
//! on the session's handler pool ([`super::handlers`]); those of an inline
//! method ([`Router::runs_inline`](crate::Router::runs_inline)) are polled
//! once here first, and reach the pool only if they wait.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use tokio::{sync::Notify, time::Instant};

use super::{
    Session, Shared,
    handlers::{Jobs, Queue},
    job::{self, Held, Job},
    operations,
};
use crate::{
    config::SessionConfig,
    error::CloseReason,
    metrics::record::{self, Refusal},
    outbound::Budget,
    protocol::{CONNECTION_ERROR_ID, ErrorCode, REQUEST_ID_HEADER, close_code},
    rate::{RateLimit, TokenBucket},
    router::{HandlerFuture, Request, Route},
    text::Clipped,
};

/// Handlers of one session and the bound on how many run at once.
#[derive(Debug)]
pub(super) struct Inbound {
    /// Handlers running now, at most `limit`. A counter, not a semaphore:
    /// admission never waits, and a semaphore's release takes a lock.
    count: AtomicUsize,
    limit: usize,
    /// Set once someone waits for the handlers to finish ([`Self::idle`]);
    /// until then the last handler to leave skips the wake-up.
    watched: AtomicBool,
    emptied: Notify,
    /// Bytes of requests held by running handlers (their payloads share the
    /// message they arrived in).
    bytes: Budget,
    /// The admission (serial) of each running call or stream by id, so that
    /// a cancel frame can stop it and a reused id is caught; casts cannot be
    /// cancelled and are not here.
    running: Mutex<HashMap<u64, u64>>,
    next_serial: AtomicU64,
    jobs: Jobs<Job>,
    rate: Option<Mutex<Rate>>,
}

/// The inbound rate limit and the streak of requests it refused.
#[derive(Debug)]
struct Rate {
    bucket: TokenBucket,
    limit: RateLimit,
    refused_in_a_row: u32,
}

/// What the rate limit says about one request.
enum RateVerdict {
    Pass,
    Refuse(String),
    Abuse(String),
}

/// A call or cast the reader has decoded.
pub(super) struct Incoming<'a> {
    pub(super) id: Option<u64>,
    pub(super) method: &'a str,
    pub(super) headers: &'a [(&'a str, &'a str)],
    pub(super) payload: Bytes,
    /// For a stream: the credit the caller granted for its answers.
    pub(super) stream_credit: Option<u32>,
    /// A notification (a push), not a call, cast or stream.
    pub(super) notify: bool,
    /// When it arrived, by the reader's clock: its handler's deadline and
    /// metrics count from here.
    pub(super) arrived: Instant,
}

impl Inbound {
    /// The admission state and the queue of the handler pool that runs what
    /// it admits.
    pub(super) fn new(config: &SessionConfig) -> (Self, Queue<Job>) {
        let (jobs, queue) = Jobs::new();
        let inbound = Self {
            count: AtomicUsize::new(0),
            limit: config.max_in_flight,
            watched: AtomicBool::new(false),
            emptied: Notify::new(),
            bytes: Budget::new(config.inbound_budget),
            running: Mutex::new(HashMap::new()),
            next_serial: AtomicU64::new(0),
            jobs,
            rate: config.inbound_rate.map(|limit| {
                Mutex::new(Rate {
                    bucket: TokenBucket::new(limit),
                    limit,
                    refused_in_a_row: 0,
                })
            }),
        };
        (inbound, queue)
    }

    fn check_rate(&self, max_refusals: u32) -> RateVerdict {
        let Some(rate) = &self.rate else {
            return RateVerdict::Pass;
        };
        let mut rate = rate.lock().unwrap_or_else(PoisonError::into_inner);
        if rate.bucket.take() {
            rate.refused_in_a_row = 0;
            return RateVerdict::Pass;
        }
        rate.refused_in_a_row += 1;
        let limit = rate.limit;
        if rate.refused_in_a_row > max_refusals {
            RateVerdict::Abuse(format!(
                "rate limit of {}/s exceeded by {} requests in a row",
                limit.per_second, rate.refused_in_a_row
            ))
        } else {
            RateVerdict::Refuse(format!(
                "rate limit of {}/s (burst {}) exceeded; retry in {} ms",
                limit.per_second,
                limit.burst,
                rate.bucket.wait_time().as_millis().max(1)
            ))
        }
    }

    fn running(&self) -> MutexGuard<'_, HashMap<u64, u64>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops the handler of call or stream `id`, if it still runs.
    pub(super) fn cancel(&self, id: u64) -> bool {
        let serial = self.running().remove(&id);
        serial.map(|serial| self.jobs.cancel(serial)).is_some()
    }

    /// Handlers running now.
    pub(super) fn running_count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Takes a place for one more handler, if the limit allows.
    fn try_enter(&self) -> bool {
        self.count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives back a finished handler's place and its request's bytes.
    pub(super) fn release(&self, bytes: usize) {
        self.bytes.release(bytes);
        self.leave();
    }

    /// Gives a handler's place back.
    fn leave(&self) {
        // SeqCst on both sides: either `idle` sees the count at zero, or this
        // sees it watching and wakes it.
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 && self.watched.load(Ordering::SeqCst) {
            self.emptied.notify_waiters();
        }
    }

    /// Forgets the entry of call `id` if admission `serial` still holds it:
    /// once a handler has sent its last frame, the peer may reuse the id,
    /// and a new call may already stand under it.
    pub(super) fn finish(&self, id: u64, serial: u64) -> bool {
        let mut running = self.running();
        let own = running.get(&id) == Some(&serial);
        if own {
            running.remove(&id);
        }
        own
    }

    /// Stops every handler: the pool drops them all.
    pub(super) fn abort_all(&self) {
        self.running().clear();
        self.jobs.stop();
    }

    /// Waits until no handler runs, or `grace` passes.
    pub(super) async fn idle(&self, grace: Duration) -> bool {
        self.watched.store(true, Ordering::SeqCst);
        let emptied = async {
            loop {
                let notified = self.emptied.notified();
                tokio::pin!(notified);
                // Registered before the check, so a wake-up in between counts.
                notified.as_mut().enable();
                if self.count.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(grace, emptied).await.is_ok()
    }
}

/// Admits a call or cast and starts its handler, or refuses it with an error
/// frame. Never waits: refusals go through the outbound side's refusal lane,
/// and a reused id of a running call closes the session (1002), like
/// stream-id reuse in HTTP/2: an error frame with that id would fail the
/// running call instead.
pub(super) fn admit(shared: &Arc<Shared>, incoming: Incoming<'_>) -> Result<(), CloseReason> {
    let error_id = incoming.id.unwrap_or(CONNECTION_ERROR_ID);
    let refuse = |code: ErrorCode, reason: Refusal, message: String| {
        record::refused(reason);
        shared.routes.served_by_name(incoming.method).refused(code);
        shared.log_limit.log(|suppressed| {
            tracing::warn!(method = %Clipped(incoming.method), id = incoming.id, %code, message = %Clipped(&message), suppressed, "request refused");
        });
        shared.refuse(error_id, code, &message);
        Ok(())
    };
    if shared.is_draining() {
        return refuse(
            ErrorCode::SHUTTING_DOWN,
            Refusal::ShuttingDown,
            "the peer is shutting down".into(),
        );
    }
    match shared.inbound.check_rate(shared.config.max_rate_refusals) {
        RateVerdict::Pass => {}
        RateVerdict::Refuse(message) => {
            return refuse(ErrorCode::BUSY, Refusal::RateLimited, message);
        }
        RateVerdict::Abuse(message) => return Err(CloseReason::local(close_code::POLICY, message)),
    }
    let Some(route) = shared.routes.route(incoming.method) else {
        if incoming.notify {
            // The topic alone, so that the sender can report the push.
            return refuse(
                ErrorCode::UNKNOWN_TOPIC,
                Refusal::UnknownTopic,
                incoming.method.to_owned(),
            );
        }
        return refuse(
            ErrorCode::UNKNOWN_METHOD,
            Refusal::UnknownMethod,
            format!("no method named `{}`", Clipped(incoming.method)),
        );
    };
    // Only a server's call can name an operation: one scan of the headers.
    let operation = match &shared.operations {
        Some(operations) if incoming.id.is_some() && incoming.stream_credit.is_none() => {
            match operations::requested(incoming.headers) {
                None => None,
                Some(Ok(id)) => Some((operations, id)),
                Some(Err(refused)) => {
                    shared.routes.served(route).refused(refused.code);
                    refuse_operation(shared, error_id, &refused);
                    return Ok(());
                }
            }
        }
        _ => None,
    };
    if !shared.inbound.try_enter() {
        return refuse(
            ErrorCode::BUSY,
            Refusal::InFlight,
            format!(
                "{} requests already in flight, the limit of this connection",
                shared.inbound.limit
            ),
        );
    }

    // The payload, and the headers copied into the request.
    let held = incoming.payload.len()
        + incoming
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum::<usize>();
    if !shared.inbound.bytes.try_take(held) {
        shared.inbound.leave();
        return refuse(
            ErrorCode::BUSY,
            Refusal::InboundBudget,
            format!(
                "running requests already hold the inbound budget of {} bytes",
                shared.config.inbound_budget
            ),
        );
    }
    let claim = match operation {
        None => None,
        Some((operations, id)) => {
            match operations.claim(shared.identity(), id, (route.router, route.method)) {
                Ok(claim) => Some(claim),
                Err(refused) => {
                    shared.inbound.release(held);
                    shared.routes.served(route).refused(refused.code);
                    refuse_operation(shared, error_id, &refused);
                    return Ok(());
                }
            }
        }
    };
    start(shared, incoming, route, held, claim)
}

/// The span a handler runs in; with OpenTelemetry, a child of the
/// caller's trace.
fn handler_span(incoming: &Incoming<'_>) -> tracing::Span {
    // The fields are evaluated only when the span is enabled.
    let span = tracing::debug_span!(
        "handler",
        method = %Clipped(incoming.method),
        id = incoming.id,
        request_id = incoming
            .headers
            .iter()
            .find(|(name, _)| *name == REQUEST_ID_HEADER)
            .map(|(_, value)| tracing::field::display(Clipped(value))),
    );
    #[cfg(feature = "opentelemetry")]
    if !span.is_disabled() {
        crate::otel::adopt(&span, incoming.headers);
    }
    span
}

/// How an admitted request starts.
enum First {
    /// An inline method's: run on the reader.
    Now(Request),
    /// Any other's: its handler, for the pool.
    Later(HandlerFuture),
}

/// Refuses a call naming an operation. Logged at debug only: a peer can
/// make these at will, and the bounds they meet are the server's own.
fn refuse_operation(shared: &Shared, id: u64, refused: &operations::Refused) {
    record::refused(Refusal::Operation);
    tracing::debug!(id, code = %refused.code, message = %refused.message, "operation refused");
    shared.refuse(id, refused.code, &refused.message);
}

/// Runs an admitted request's handler on the pool; `held` is what its
/// request holds of the inbound budget. A call naming an operation waits
/// on it instead, through `claim`.
fn start(
    shared: &Arc<Shared>,
    incoming: Incoming<'_>,
    route: Route,
    held: usize,
    claim: Option<operations::Claim>,
) -> Result<(), CloseReason> {
    let stream = incoming.stream_credit.zip(incoming.id);
    let serial = shared.inbound.next_serial.fetch_add(1, Ordering::Relaxed);
    let span = handler_span(&incoming);
    let request = || {
        // Most requests carry none: no collecting then, not even an empty
        // vector's (a measurable share of a small call's admission).
        let headers = if incoming.headers.is_empty() {
            Vec::new()
        } else {
            incoming
                .headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect()
        };
        let session = Session {
            shared: Arc::clone(shared),
        };
        Request::new(
            session,
            incoming.id,
            serial,
            incoming.payload,
            headers,
            stream.is_some(),
        )
    };
    let deadline = route.timeout.or(shared.config.handler_timeout);
    // A stream keeps running while it sends, and an operation's handler
    // runs on a task of its own: neither starts on the reader.
    let inline = route.inline && stream.is_none() && claim.is_none();
    // A claim is made only for a call, which has an id. An inline method
    // runs on the reader, once the call is entered below.
    let first = match claim.zip(incoming.id) {
        None if inline => First::Now(request()),
        None => First::Later(shared.routes.dispatch(route, request())),
        Some((claim, id)) => First::Later(claim.into_handler(
            id,
            || shared.routes.dispatch(route, request()),
            deadline,
            shared.tracker(),
            span.clone(),
        )),
    };
    let admitted = (route, incoming.arrived);
    // Only a handler that waits becomes a job: one answered at its first
    // poll on the reader needs none of it.
    let job = |handler, span| {
        let held = Held {
            shared: Arc::clone(shared),
            bytes: held,
        };
        let call = (incoming.id, serial, stream.is_some());
        Job::new(handler, deadline, held, call, span, admitted)
    };

    let Some(id) = incoming.id else {
        let handler = match first {
            First::Now(request) => {
                let Some(waiting) = job::run_inline(shared, request, None, &span, admitted) else {
                    shared.inbound.release(held);
                    return Ok(());
                };
                waiting
            }
            First::Later(handler) => handler,
        };
        shared.inbound.jobs.start(job(handler, span));
        return Ok(());
    };
    // One lock for the duplicate check and the insertion; the job's own
    // removal takes it too, so a job that finishes at once cannot leave a
    // stale entry behind.
    let mut running = shared.inbound.running();
    if running.contains_key(&id) {
        drop(running);
        shared.inbound.release(held);
        return Err(CloseReason::local(
            close_code::PROTOCOL,
            format!("call id {id} is already in flight"),
        ));
    }
    if let Some((credit, id)) = stream {
        shared.streams.serve(id, credit);
    }
    let handler = match first {
        First::Now(request) => {
            // Run without the entry: an answer ready at once has nothing to
            // remove, and no frame of this id can arrive while the reader
            // is here. Only a handler that waits is entered, as
            // cancellable.
            drop(running);
            let Some(waiting) = job::run_inline(shared, request, Some(id), &span, admitted) else {
                shared.inbound.release(held);
                return Ok(());
            };
            running = shared.inbound.running();
            waiting
        }
        First::Later(handler) => handler,
    };
    running.insert(id, serial);
    drop(running);
    shared.inbound.jobs.start(job(handler, span));
    Ok(())
}
