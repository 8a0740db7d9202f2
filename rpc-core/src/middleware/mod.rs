//! Middleware: layers around every handler a side serves. A layer sees the
//! method, the request (its session, identity and headers) and the
//! outcome, and can refuse the call with a typed error before the handler
//! runs. Layers go on a server ([`ServerBuilder::layer`]) or a client
//! ([`ClientBuilder::layer`], around the handlers of the routers it
//! mounts); the first added is the outermost.
//!
//! ```
//! # extern crate rpc_core as rpc;
//! use rpc::middleware::{self, ConcurrencyLimit, RequestLog};
//!
//! let server = rpc::Server::builder()
//!     .layer(RequestLog::default())
//!     .layer(ConcurrencyLimit::per_method(64))
//!     .layer(middleware::from_fn(|call, request, next| async move {
//!         if call.method.name == "admin.reset" && request.header("x-admin").is_none() {
//!             return Err(rpc::HandlerError::new(rpc::ErrorCode::FORBIDDEN, "admins only"));
//!         }
//!         next.run(request).await
//!     }));
//! ```
//!
//! [`ServerBuilder::layer`]: crate::ServerBuilder::layer
//! [`ClientBuilder::layer`]: crate::ClientBuilder::layer

mod authorize;
mod concurrency;
mod log;

use std::{fmt, future::Future, sync::Arc};

pub use self::{authorize::Authorize, concurrency::ConcurrencyLimit, log::RequestLog};
use crate::{
    metadata::MethodInfo,
    router::{HandlerError, HandlerFuture, Reply, Request, Router},
};

/// A layer around the handlers of one side. Return `next.run(request)` to
/// go on (awaiting it to see the outcome), or an error to refuse the call
/// without running the handler: the caller gets the error's code and
/// message, as from a handler.
///
/// Runs where the handler runs (the session's handler pool), never on the
/// connection's reader: a layer may await.
pub trait Middleware: Send + Sync + 'static {
    /// Handles `request` for the method `call` names, passing it on
    /// through `next`.
    fn handle(&self, call: CallInfo, request: Request, next: Next) -> HandlerFuture;
}

/// What a layer knows of the call besides its request.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct CallInfo {
    /// The router serving the method.
    pub router: &'static str,
    /// The method: its wire name, kind, parameters and docs.
    pub method: &'static MethodInfo,
}

/// The rest of the chain: the layers after this one, then the handler.
pub struct Next {
    chain: Arc<[Arc<dyn Middleware>]>,
    position: usize,
    call: CallInfo,
    router: Arc<dyn Router>,
    method: usize,
}

impl fmt::Debug for Next {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next")
            .field("layers_left", &(self.chain.len() - self.position))
            .field("call", &self.call)
            .finish_non_exhaustive()
    }
}

impl Next {
    /// Runs the next layer, or the handler after the last.
    pub fn run(self, request: Request) -> HandlerFuture {
        match self.chain.get(self.position) {
            None => self.router.dispatch(self.method, request),
            Some(layer) => {
                let layer = Arc::clone(layer);
                let call = self.call;
                let next = Next {
                    position: self.position + 1,
                    ..self
                };
                layer.handle(call, request, next)
            }
        }
    }
}

/// The layers of one side, outermost first.
#[derive(Clone, Default)]
pub(crate) struct Layers {
    chain: Option<Arc<[Arc<dyn Middleware>]>>,
}

impl fmt::Debug for Layers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} layers",
            self.chain.as_ref().map_or(0, |chain| chain.len())
        )
    }
}

impl Layers {
    /// Whether no middleware is installed.
    pub(crate) fn is_empty(&self) -> bool {
        self.chain.is_none()
    }

    /// Adds `layer` inside those added before.
    pub(crate) fn push(&mut self, layer: Arc<dyn Middleware>) {
        let mut chain: Vec<_> = self.chain.as_deref().unwrap_or_default().to_vec();
        chain.push(layer);
        self.chain = Some(chain.into());
    }

    /// Runs method `method` of `router` for `request` through the layers.
    /// Without layers, the handler's own future: no cost.
    pub(crate) fn dispatch(
        &self,
        router: &Arc<dyn Router>,
        method: usize,
        request: Request,
    ) -> HandlerFuture {
        let Some(chain) = &self.chain else {
            return Arc::clone(router).dispatch(method, request);
        };
        let info = router.info();
        let next = Next {
            chain: Arc::clone(chain),
            position: 0,
            call: CallInfo {
                router: info.name.as_ref(),
                method: &info.methods[method],
            },
            router: Arc::clone(router),
            method,
        };
        next.run(request)
    }
}

/// A layer made of an async function of the call, the request and the
/// rest of the chain, as axum's `middleware::from_fn`.
pub fn from_fn<F, Fut>(f: F) -> FromFn<F>
where
    F: Fn(CallInfo, Request, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply, HandlerError>> + Send + 'static,
{
    FromFn(f)
}

/// The layer [`from_fn`] makes.
#[derive(Clone)]
pub struct FromFn<F>(F);

impl<F> fmt::Debug for FromFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FromFn")
    }
}

impl<F, Fut> Middleware for FromFn<F>
where
    F: Fn(CallInfo, Request, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply, HandlerError>> + Send + 'static,
{
    fn handle(&self, call: CallInfo, request: Request, next: Next) -> HandlerFuture {
        Box::pin((self.0)(call, request, next))
    }
}
