//! One admitted handler as the pool runs it: its future under the
//! deadline, a panic turned into an `internal` error, the answer, and
//! cancellation. A named future rather than an `async` block, so the pool
//! holds it without a box of its own, and cancels it without an abort
//! handle: two allocations less per call.

use std::{
    any::Any,
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, Waker},
    time::Duration,
};

use tokio::time::{Instant, Sleep};

use super::{
    Shared,
    handlers::{Cancel, PoolJob},
};
use crate::{
    log_limit::LogLimit,
    metrics::record::{self, PeerEvent, Refusal, Started},
    protocol::{CONNECTION_ERROR_ID, ErrorCode},
    router::{HandlerError, HandlerFuture, Reply, Request, Route},
    text::Clipped,
};

/// Gives back a handler's place and its request's bytes when its job ends
/// or is dropped (cancelled, or the session closed).
pub(super) struct Held {
    pub(super) shared: Arc<Shared>,
    pub(super) bytes: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.shared.inbound.release(self.bytes);
    }
}

/// A handler's deadline. Its timer is registered only once the handler
/// waits: one answered at its first poll never touches the timer wheel.
struct Deadline {
    at: Instant,
    limit: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Deadline {
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let at = self.at;
        self.sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)))
            .as_mut()
            .poll(cx)
    }
}

/// A running handler and what its end must do.
pub(super) struct Job {
    handler: HandlerFuture,
    /// Only when the method or the session sets a deadline.
    deadline: Option<Deadline>,
    held: Held,
    /// The call's id; `None` for a cast.
    id: Option<u64>,
    /// The admission, to tell this call from a later one reusing its id.
    serial: u64,
    /// Opened as a stream: its entry in the served-stream table goes too.
    stream: bool,
    /// Entered on every poll, so only made when enabled.
    span: Option<tracing::Span>,
    /// Set by [`PoolJob::cancel`]: the next poll ends the job unanswered.
    cancel: Cancel,
    /// The method, whose metrics count the outcome, and when it was
    /// admitted.
    route: Route,
    started: Started,
}

impl Job {
    pub(super) fn new(
        handler: HandlerFuture,
        deadline: Option<Duration>,
        held: Held,
        (id, serial, stream): (Option<u64>, u64, bool),
        span: tracing::Span,
        (route, admitted): (Route, Instant),
    ) -> Self {
        Self {
            handler,
            deadline: deadline.map(|limit| Deadline {
                at: crate::deadline::from(admitted, limit),
                limit,
                sleep: None,
            }),
            held,
            id,
            serial,
            stream,
            span: (!span.is_disabled()).then_some(span),
            cancel: Cancel::default(),
            route,
            started: Started::at(admitted),
        }
    }

    /// The handler's outcome, if it has one by now.
    fn outcome(&mut self, cx: &mut Context<'_>) -> Poll<Result<Reply, HandlerError>> {
        match catch_unwind(AssertUnwindSafe(|| self.handler.as_mut().poll(cx))) {
            Ok(Poll::Ready(outcome)) => Poll::Ready(outcome),
            Err(panic) => Poll::Ready(Err(panicked(&*panic, &self.held.shared.log_limit))),
            Ok(Poll::Pending) => match &mut self.deadline {
                Some(deadline) => deadline.poll_expired(cx).map(|()| {
                    Err(HandlerError::new(
                        ErrorCode::TIMEOUT,
                        format!("handler exceeded its deadline of {:?}", deadline.limit),
                    ))
                }),
                None => Poll::Pending,
            },
        }
    }
}

impl Future for Job {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.cancel.is_cancelled() {
            // Dropped by the pool next, which releases what it holds.
            return Poll::Ready(());
        }
        // A clone only when enabled: the answer is logged in the span too.
        let span = this.span.clone();
        let _entered = span.as_ref().map(tracing::Span::enter);
        let Poll::Ready(outcome) = this.outcome(cx) else {
            this.cancel.waiting(cx);
            return Poll::Pending;
        };
        let shared = &this.held.shared;
        if let Some(id) = this.id
            && shared.inbound.finish(id, this.serial)
            && this.stream
        {
            shared.streams.forget_served(id);
        }
        conclude(shared, this.id, this.route, this.started, outcome);
        Poll::Ready(())
    }
}

impl PoolJob for Job {
    fn serial(&self) -> u64 {
        self.serial
    }

    fn cancel(&mut self) {
        self.cancel.cancel();
    }
}

/// Runs an inline method's request on the reader: a synchronous method
/// ([`Router::dispatch_now`](crate::Router::dispatch_now)) to its answer,
/// any other's handler to its first poll. Answers if it is done; gives the
/// handler back if it waits, for a [`Job`] to run on the pool. The waker
/// is a no-op: the pool polls the job when it takes it, and a future
/// registers its waker anew on every poll.
pub(super) fn run_inline(
    shared: &Shared,
    request: Request,
    id: Option<u64>,
    span: &tracing::Span,
    (route, admitted): (Route, Instant),
) -> Option<HandlerFuture> {
    let _entered = (!span.is_disabled()).then(|| span.enter());
    let run = || match shared.routes.dispatch_now(route, request) {
        Ok(outcome) => Ok(outcome),
        Err(request) => {
            let mut handler = shared.routes.dispatch(route, request);
            match handler
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
            {
                Poll::Ready(outcome) => Ok(outcome),
                Poll::Pending => Err(handler),
            }
        }
    };
    let outcome = match catch_unwind(AssertUnwindSafe(run)) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(waiting)) => return Some(waiting),
        Err(panic) => Err(panicked(&*panic, &shared.log_limit)),
    };
    conclude(shared, id, route, Started::at(admitted), outcome);
    None
}

/// Sends a handler's outcome and counts it in its method's metrics.
fn conclude(
    shared: &Shared,
    id: Option<u64>,
    route: Route,
    started: Started,
    outcome: Result<Reply, HandlerError>,
) {
    let code = answer(shared, id, outcome);
    shared.routes.served(route).ended(code, started);
}

/// The error a panicking handler answers with; the panic is logged within
/// `log_limit`, its message clipped: a peer may make a handler panic on
/// every call, with a message made of its own input.
pub(super) fn panicked(panic: &(dyn Any + Send), log_limit: &LogLimit) -> HandlerError {
    let what = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or_default();
    log_limit.log(|suppressed| {
        tracing::error!(panic = %Clipped(what), suppressed, "handler panicked");
    });
    HandlerError::new(ErrorCode::INTERNAL, "handler panicked")
}

/// Sends the outcome; returns the error code the caller gets, if any.
fn answer(
    shared: &Shared,
    id: Option<u64>,
    outcome: Result<Reply, HandlerError>,
) -> Option<ErrorCode> {
    match (id, outcome) {
        (Some(id), Ok(Reply(Some(frame)))) => match shared.fits(&frame) {
            Ok(()) => {
                shared.answer(id, frame);
                None
            }
            Err(too_large) => {
                record::refused(Refusal::AnswerTooLarge);
                tracing::warn!(
                    size = too_large.size,
                    max = too_large.max,
                    "answer too large for the caller"
                );
                shared.refuse(id, ErrorCode::TOO_LARGE, &too_large.message());
                Some(ErrorCode::TOO_LARGE)
            }
        },
        (_, Ok(Reply(_))) => None,
        (Some(id), Err(err)) => {
            tracing::debug!(code = %err.code(), message = err.message(), "call failed");
            shared.answer_error(id, err.code(), err.message(), err.data());
            Some(err.code())
        }
        (None, Err(err)) => {
            record::peer_event(PeerEvent::CastFailed);
            shared.log_limit.log(|suppressed| {
                tracing::warn!(code = %err.code(), message = %Clipped(err.message()), suppressed, "cast failed");
            });
            shared.answer_error(CONNECTION_ERROR_ID, err.code(), err.message(), err.data());
            Some(err.code())
        }
    }
}
