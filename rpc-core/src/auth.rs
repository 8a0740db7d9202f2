//! Authentication at upgrade time: the hook sees the HTTP upgrade request and
//! either refuses it (401, 403, ...) or lets it in, optionally attaching an
//! [`Identity`] that handlers read from their [`Session`](crate::Session).

use std::net::SocketAddr;

use crate::identity::Identity;

/// The WebSocket upgrade request, as the authentication hook sees it.
#[derive(Debug)]
pub struct UpgradeRequest<'a> {
    request: &'a http::Request<()>,
    remote_addr: Option<SocketAddr>,
}

impl<'a> UpgradeRequest<'a> {
    pub(crate) fn new(request: &'a http::Request<()>, remote_addr: Option<SocketAddr>) -> Self {
        Self {
            request,
            remote_addr,
        }
    }

    /// The value of header `name` (case-insensitive), if present and text.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.request.headers().get(name)?.to_str().ok()
    }

    /// The request path, such as `/rpc`.
    pub fn path(&self) -> &'a str {
        self.request.uri().path()
    }

    /// The query string without the `?`, if any.
    pub fn query(&self) -> Option<&'a str> {
        self.request.uri().query()
    }

    /// The client's socket address; `None` for connections from
    /// [`serve_with`](crate::ServerBuilder::serve_with).
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }
}

/// The hook's refusal: an HTTP status and a reason sent as the response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    status: u16,
    reason: String,
}

impl Refusal {
    /// 401: no or bad credentials.
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self {
            status: 401,
            reason: reason.into(),
        }
    }

    /// 403: valid credentials that are not allowed in.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self {
            status: 403,
            reason: reason.into(),
        }
    }

    /// The HTTP status sent.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason sent as the body.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// The authentication hook a server calls for every upgrade request.
pub(crate) type AuthHook =
    dyn Fn(&UpgradeRequest<'_>) -> Result<Option<Identity>, Refusal> + Send + Sync;
