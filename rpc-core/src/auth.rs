//! Authentication at upgrade time: the hook sees the HTTP upgrade request and
//! either refuses it (401, 403, any 4xx) or lets it in, optionally attaching
//! an [`Identity`] that handlers read from their [`Session`](crate::Session).

use std::net::SocketAddr;

use bytes::Bytes;
use futures_util::future::BoxFuture;

use crate::identity::Identity;

/// The WebSocket upgrade request, as the authentication hook sees it: owned,
/// so an async hook can keep it across its awaits.
#[derive(Debug, Clone)]
pub struct UpgradeRequest {
    path: String,
    query: Option<String>,
    headers: http::HeaderMap,
    remote_addr: Option<SocketAddr>,
    peer_addr: Option<SocketAddr>,
    client_certificates: Option<Vec<Bytes>>,
}

impl UpgradeRequest {
    pub(crate) fn new(
        uri: &http::Uri,
        headers: http::HeaderMap,
        remote_addr: Option<SocketAddr>,
        peer_addr: Option<SocketAddr>,
    ) -> Self {
        Self {
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            headers,
            remote_addr,
            peer_addr,
            client_certificates: None,
        }
    }

    /// With the client's TLS certificate chain, when it presented one.
    pub(crate) fn with_client_certificates(mut self, chain: Option<Vec<Bytes>>) -> Self {
        self.client_certificates = chain;
        self
    }

    /// The value of header `name` (case-insensitive), if present and text;
    /// the first one when the header is repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// Every header of the request.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.headers
    }

    /// The request path, such as `/rpc`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query string without the `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The client's address: the connection's peer, or, when that peer is
    /// one of the [`trusted_proxies`](crate::ServerConfig::trusted_proxies),
    /// the address it forwarded (see there). The same address as
    /// [`Session::remote_addr`](crate::Session::remote_addr). `None` for
    /// connections from [`serve_with`](crate::ServerBuilder::serve_with).
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// The connection's own peer address, a proxy's when there is one;
    /// `None` for connections from
    /// [`serve_with`](crate::ServerBuilder::serve_with).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }

    /// The certificate chain the client presented in the server's TLS
    /// handshake, DER encoded, its own certificate first: verified against
    /// the authorities of `ServerTls::client_ca_pem`. `None` when the
    /// connection is not TLS, the server asks for no certificate, the
    /// client sent none, or the TLS ended at a proxy or an HTTP server in
    /// front (`Server::upgrader`).
    pub fn client_certificates(&self) -> Option<&[Bytes]> {
        self.client_certificates.as_deref()
    }
}

/// The hook's refusal: an HTTP status (always 4xx) and a reason sent as the
/// response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    status: u16,
    reason: String,
}

impl Refusal {
    /// Refuses with `status`, such as 429 Too Many Requests, and `reason`.
    ///
    /// # Panics
    ///
    /// If `status` is not a client error (400 to 499): a refusal says what
    /// is wrong with the request, and the server keeps 5xx for itself.
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        assert!(
            (400..500).contains(&status),
            "a refusal's status must be 4xx, not {status}"
        );
        Self {
            status,
            reason: reason.into(),
        }
    }

    /// 401: no or bad credentials.
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self::new(401, reason)
    }

    /// 403: valid credentials that are not allowed in.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(403, reason)
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

/// What the hook decides: admit (with or without an identity) or refuse.
pub(crate) type Verdict = Result<Option<Identity>, Refusal>;

/// The authentication hook a server awaits for every upgrade request.
pub(crate) type AuthHook = dyn Fn(UpgradeRequest) -> BoxFuture<'static, Verdict> + Send + Sync;
