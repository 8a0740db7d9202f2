//! [`RequestLog`]: one log line per request, with its outcome and time.

use std::time::Instant;

use super::{CallInfo, Middleware, Next};
use crate::router::{HandlerFuture, Request};

/// Logs every request when it ends: method, call id, session, caller
/// identity, how long it ran and how it ended (`ok`, or the error's code
/// and message). Successes log at `DEBUG`, errors at `INFO` (they are the
/// caller's answer, not a failure of this side), through `tracing` with
/// the target `rpc::request`.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct RequestLog;

impl Middleware for RequestLog {
    fn handle(&self, call: CallInfo, request: Request, next: Next) -> HandlerFuture {
        let id = request.id();
        let session = request.session().id();
        let subject = request
            .session()
            .identity()
            .map(|identity| identity.subject().to_owned());
        Box::pin(async move {
            let started = Instant::now();
            let outcome = next.run(request).await;
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let method = call.method.name.as_ref();
            let subject = subject.as_deref().unwrap_or("-");
            match &outcome {
                Ok(_) => tracing::debug!(
                    target: "rpc::request", method, id, session, subject, micros, "ok"
                ),
                Err(err) => tracing::info!(
                    target: "rpc::request",
                    method, id, session, subject, micros,
                    code = %err.code(), message = err.message(),
                    "failed"
                ),
            }
            outcome
        })
    }
}
