//! [`Authorize`]: a permission check on the caller's identity.

use std::{fmt, sync::Arc};

use super::{CallInfo, Middleware, Next};
use crate::{
    identity::Identity,
    protocol::ErrorCode,
    router::{HandlerError, HandlerFuture, Request},
};

type Rule = dyn Fn(&Identity, CallInfo) -> bool + Send + Sync;

/// Lets a request through only when `rule` allows the caller's identity
/// (set by the server's authentication hook) to call the method. A caller
/// without an identity is refused with `unauthenticated` (code 9), one the
/// rule refuses with `forbidden` (code 12); the handler does not run.
///
/// ```
/// # extern crate rpc_core as rpc;
/// use rpc::middleware::Authorize;
///
/// // Methods under `admin.` only for subjects starting with `admin:`.
/// let admins_only = Authorize::new(|identity, call| {
///     !call.method.name.starts_with("admin.") || identity.subject().starts_with("admin:")
/// });
/// ```
#[derive(Clone)]
pub struct Authorize {
    rule: Arc<Rule>,
}

impl fmt::Debug for Authorize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authorize")
    }
}

impl Authorize {
    /// A check of `rule`, given the caller's identity and the method.
    pub fn new<F>(rule: F) -> Self
    where
        F: Fn(&Identity, CallInfo) -> bool + Send + Sync + 'static,
    {
        Self {
            rule: Arc::new(rule),
        }
    }
}

impl Middleware for Authorize {
    fn handle(&self, call: CallInfo, request: Request, next: Next) -> HandlerFuture {
        let refusal = match request.session().identity() {
            None => Some(HandlerError::new(
                ErrorCode::UNAUTHENTICATED,
                "this method needs an authenticated caller",
            )),
            Some(identity) if !(self.rule)(identity, call) => Some(HandlerError::new(
                ErrorCode::FORBIDDEN,
                format!(
                    "`{}` may not call `{}`",
                    identity.subject(),
                    call.method.name
                ),
            )),
            Some(_) => None,
        };
        match refusal {
            Some(refusal) => Box::pin(async move { Err(refusal) }),
            None => next.run(request),
        }
    }
}
