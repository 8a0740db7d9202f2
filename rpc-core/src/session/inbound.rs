//! Calls and casts from the peer: admission (in-flight limit, draining,
//! routing), one task per handler, deadlines, cancellation, and the answer.

use std::{
    collections::HashMap,
    panic::AssertUnwindSafe,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::{sync::Semaphore, task::AbortHandle};
use tracing::Instrument;

use super::{Session, Shared};
use crate::{
    config::SessionConfig,
    error::CloseReason,
    outbound::Budget,
    protocol::{CONNECTION_ERROR_ID, ErrorCode, close_code},
    rate::{RateLimit, TokenBucket},
    router::{HandlerError, Reply, Request},
    text::Clipped,
};

/// Identifies a running handler task: calls by their id (so a cancel frame
/// can find them), casts by a local sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum TaskKey {
    Call(u64),
    Cast(u64),
}

/// Handler tasks of one session and the bound on how many run at once.
#[derive(Debug)]
pub(super) struct Inbound {
    permits: Arc<Semaphore>,
    limit: usize,
    /// Bytes of requests held by running handlers (their payloads share the
    /// message they arrived in).
    bytes: Budget,
    running: Mutex<HashMap<TaskKey, AbortHandle>>,
    next_cast: AtomicU64,
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
}

impl Inbound {
    pub(super) fn new(config: &SessionConfig) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(config.max_in_flight)),
            limit: config.max_in_flight,
            bytes: Budget::new(config.inbound_budget),
            running: Mutex::new(HashMap::new()),
            next_cast: AtomicU64::new(0),
            rate: config.inbound_rate.map(|limit| {
                Mutex::new(Rate {
                    bucket: TokenBucket::new(limit),
                    limit,
                    refused_in_a_row: 0,
                })
            }),
        }
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

    fn running(&self) -> MutexGuard<'_, HashMap<TaskKey, AbortHandle>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Aborts the handler of call or stream `id`, if it still runs.
    pub(super) fn cancel(&self, id: u64) -> bool {
        let handle = self.running().remove(&TaskKey::Call(id));
        handle.map(|h| h.abort()).is_some()
    }

    /// Handlers running now.
    pub(super) fn running_count(&self) -> usize {
        self.limit - self.permits.available_permits()
    }

    /// Forgets the calling handler task's entry, if it is still the one
    /// registered under `key`: once it has sent its last frame, the peer may
    /// reuse the id, and a new task may already stand under it.
    pub(super) fn finish(&self, key: TaskKey) -> bool {
        let mut running = self.running();
        let own = running
            .get(&key)
            .is_some_and(|handle| tokio::task::try_id() == Some(handle.id()));
        if own {
            running.remove(&key);
        }
        own
    }

    /// Aborts every handler task.
    pub(super) fn abort_all(&self) {
        let running = std::mem::take(&mut *self.running());
        for handle in running.into_values() {
            handle.abort();
        }
    }

    /// Waits until no handler runs, or `grace` passes.
    pub(super) async fn idle(&self, grace: Duration) -> bool {
        let all = u32::try_from(self.limit).unwrap_or(u32::MAX);
        tokio::time::timeout(grace, self.permits.acquire_many(all))
            .await
            .is_ok()
    }
}

/// Admits a call or cast and starts its handler, or refuses it with an error
/// frame. Never waits: refusals go through the outbound side's refusal lane,
/// and a reused id of a running call closes the session (1002), like
/// stream-id reuse in HTTP/2: an error frame with that id would fail the
/// running call instead.
pub(super) fn admit(shared: &Arc<Shared>, incoming: Incoming<'_>) -> Result<(), CloseReason> {
    let error_id = incoming.id.unwrap_or(CONNECTION_ERROR_ID);
    let refuse = |code: ErrorCode, message: String| {
        shared.log_limit.warn(|suppressed| {
            tracing::warn!(method = %Clipped(incoming.method), id = incoming.id, %code, message = %Clipped(&message), suppressed, "request refused");
        });
        shared.refuse(error_id, code, &message);
        Ok(())
    };
    if shared.is_draining() {
        return refuse(ErrorCode::SHUTTING_DOWN, "the peer is shutting down".into());
    }
    match shared.inbound.check_rate(shared.config.max_rate_refusals) {
        RateVerdict::Pass => {}
        RateVerdict::Refuse(message) => return refuse(ErrorCode::BUSY, message),
        RateVerdict::Abuse(message) => return Err(CloseReason::local(close_code::POLICY, message)),
    }
    let Some(route) = shared.routes.route(incoming.method) else {
        return refuse(
            ErrorCode::UNKNOWN_METHOD,
            format!("no method named `{}`", Clipped(incoming.method)),
        );
    };
    let Ok(permit) = Arc::clone(&shared.inbound.permits).try_acquire_owned() else {
        return refuse(
            ErrorCode::BUSY,
            format!(
                "{} requests already in flight, the limit of this connection",
                shared.inbound.limit
            ),
        );
    };

    // The payload, and the headers copied into the request.
    let held = incoming.payload.len()
        + incoming
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum::<usize>();
    if !shared.inbound.bytes.try_take(held) {
        return refuse(
            ErrorCode::BUSY,
            format!(
                "running requests already hold the inbound budget of {} bytes",
                shared.config.inbound_budget
            ),
        );
    }

    let headers = incoming
        .headers
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    let session = Session {
        shared: Arc::clone(shared),
    };
    let stream = incoming.stream_credit.zip(incoming.id);
    let request = Request::new(
        session,
        incoming.id,
        incoming.payload,
        headers,
        stream.is_some(),
    );
    let handler = Arc::clone(shared.routes.router(route.router)).dispatch(route.method, request);
    let deadline = route.timeout.or(shared.config.handler_timeout);
    let key = match incoming.id {
        Some(id) => TaskKey::Call(id),
        None => TaskKey::Cast(shared.inbound.next_cast.fetch_add(1, Ordering::Relaxed)),
    };
    let span =
        tracing::debug_span!("handler", method = %Clipped(incoming.method), id = incoming.id);
    let task_shared = Arc::clone(shared);
    // Made outside the task, so an abort before its first poll releases too.
    let held = Held {
        shared: Arc::clone(shared),
        bytes: held,
    };
    let task = async move {
        let _permit = permit;
        let _held = held;
        let outcome = run_handler(handler, deadline).await;
        if task_shared.inbound.finish(key)
            && let Some((_, id)) = stream
        {
            task_shared.streams.forget_served(id);
        }
        answer(&task_shared, incoming.id, outcome);
    };

    // One lock for the duplicate check and the insertion; the task's own
    // removal takes it too, so a task that finishes at once cannot leave a
    // stale entry behind.
    let mut running = shared.inbound.running();
    if running.contains_key(&key) {
        let id = incoming.id.unwrap_or_default();
        return Err(CloseReason::local(
            close_code::PROTOCOL,
            format!("call id {id} is already in flight"),
        ));
    }
    if let Some((credit, id)) = stream {
        shared.streams.serve(id, credit);
    }
    let handle = shared.tracker.spawn(task.instrument(span));
    running.insert(key, handle.abort_handle());
    Ok(())
}

/// Gives back a request's bytes when its handler task ends or is aborted.
struct Held {
    shared: Arc<Shared>,
    bytes: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.shared.inbound.bytes.release(self.bytes);
    }
}

async fn run_handler(
    handler: crate::router::HandlerFuture,
    deadline: Option<Duration>,
) -> Result<Reply, HandlerError> {
    let guarded = AssertUnwindSafe(handler).catch_unwind();
    let result = match deadline {
        Some(limit) => match tokio::time::timeout(limit, guarded).await {
            Ok(result) => result,
            Err(_) => {
                return Err(HandlerError::new(
                    ErrorCode::TIMEOUT,
                    format!("handler exceeded its deadline of {limit:?}"),
                ));
            }
        },
        None => guarded.await,
    };
    result.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = %what, "handler panicked");
        Err(HandlerError::new(ErrorCode::INTERNAL, "handler panicked"))
    })
}

fn answer(shared: &Shared, id: Option<u64>, outcome: Result<Reply, HandlerError>) {
    match (id, outcome) {
        (Some(id), Ok(Reply(Some(frame)))) => match shared.fits(&frame) {
            Ok(()) => shared.answer(id, frame),
            Err(too_large) => {
                tracing::warn!(
                    size = too_large.size,
                    max = too_large.max,
                    "answer too large for the caller"
                );
                shared.refuse(id, ErrorCode::TOO_LARGE, &too_large.message());
            }
        },
        (_, Ok(Reply(_))) => {}
        (Some(id), Err(err)) => {
            tracing::debug!(code = %err.code(), message = err.message(), "call failed");
            shared.answer_error(id, err.code(), err.message(), err.data());
        }
        (None, Err(err)) => {
            shared.log_limit.warn(|suppressed| {
                tracing::warn!(code = %err.code(), message = %Clipped(err.message()), suppressed, "cast failed");
            });
            shared.answer_error(CONNECTION_ERROR_ID, err.code(), err.message(), err.data());
        }
    }
}
