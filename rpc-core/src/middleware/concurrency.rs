//! [`ConcurrencyLimit`]: at most so many running requests per method.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::Semaphore;

use super::{CallInfo, Middleware, Next};
use crate::{
    protocol::ErrorCode,
    router::{HandlerError, HandlerFuture, Request},
};

/// Lets at most `limit` requests of each method run at once, across every
/// session of the side it is on; one more is refused at once with `busy`
/// (the caller may retry: `Error::is_retryable`), so that one slow method
/// cannot take every handler place of the server.
///
/// The per-method counts live in a map keyed by the mounted methods'
/// names, so it holds at most one entry per mounted method.
#[derive(Debug, Clone)]
pub struct ConcurrencyLimit {
    limit: usize,
    methods: Arc<Mutex<HashMap<&'static str, Arc<Semaphore>>>>,
}

impl ConcurrencyLimit {
    /// At most `limit` (at least 1) requests of each method at once.
    pub fn per_method(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            methods: Arc::default(),
        }
    }

    fn semaphore(&self, method: &'static str) -> Arc<Semaphore> {
        let mut methods = self.methods.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            methods
                .entry(method)
                .or_insert_with(|| Arc::new(Semaphore::new(self.limit))),
        )
    }
}

impl Middleware for ConcurrencyLimit {
    fn handle(&self, call: CallInfo, request: Request, next: Next) -> HandlerFuture {
        let method = call.method.name.as_ref();
        let Ok(place) = self.semaphore(method).try_acquire_owned() else {
            let limit = self.limit;
            return Box::pin(async move {
                Err(HandlerError::new(
                    ErrorCode::BUSY,
                    format!("`{method}` already runs {limit} requests, its limit"),
                ))
            });
        };
        Box::pin(async move {
            let outcome = next.run(request).await;
            drop(place);
            outcome
        })
    }
}
