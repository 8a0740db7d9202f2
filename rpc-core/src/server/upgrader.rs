//! The endpoint inside an HTTP server of the user's (hyper, axum, or any
//! framework built on hyper): the HTTP server parses the request and routes
//! it here; [`Upgrader::upgrade`] applies the same checks as the server's
//! own listener (connection limit, shutdown, origin, subprotocol, the
//! authentication hook), answers 101, and runs the session on the
//! connection hyper hands over, tracked by the same [`Server`](super::Server)
//! (registry, limits, graceful shutdown).

use std::{net::SocketAddr, sync::Arc, sync::atomic::Ordering};

use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::{WebSocketStream, tungstenite::protocol::Role};
use tracing::Instrument;

use super::{
    Context, connection, forwarded,
    upgrade::{self, Head, Upgraded},
};
use crate::{
    metrics::record::{self, ConnectionRefusal},
    transport::websocket::{self, WsTransport},
};

/// Upgrades requests an HTTP server routed to the RPC endpoint. Cheap to
/// clone; get one from [`Server::upgrader`](super::Server::upgrader).
#[derive(Clone)]
pub struct Upgrader {
    ctx: Arc<Context>,
}

impl std::fmt::Debug for Upgrader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgrader").finish_non_exhaustive()
    }
}

impl Upgrader {
    pub(super) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// Answers `request`: a refusal (405, 426, 400, 403, 503, or the
    /// authentication hook's status) or 101, after which the session runs
    /// on the upgraded connection. `peer` is the connection's address, if
    /// the HTTP server knows it; with trusted proxies configured, a
    /// forwarded address replaces it.
    ///
    /// The request must be HTTP/1.1 (WebSocket over HTTP/2 is not
    /// supported) and keep hyper's upgrade extension, as hyper and axum
    /// leave it.
    pub async fn upgrade<B>(
        &self,
        mut request: Request<B>,
        peer: Option<SocketAddr>,
    ) -> Response<String> {
        let ctx = &self.ctx;
        let permit = Arc::clone(&ctx.connections).try_acquire_owned().ok();
        let head = Head::of(&request);
        let accept = match upgrade::admit(&head, permit.is_some(), ctx) {
            Ok(accept) => accept,
            Err(answer) => return answer.into_response(),
        };
        let remote_addr = forwarded::client_addr(peer, head.headers(), &ctx.config.trusted_proxies);
        let deadline = crate::deadline::after(ctx.config.handshake_timeout);
        let identity = match upgrade::authenticate(head, remote_addr, peer, None, ctx).await {
            Ok(identity) => identity,
            Err(answer) => return answer.into_response(),
        };

        let id = ctx.next_session.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("connection", id, peer = ?remote_addr);
        let on_upgrade = hyper::upgrade::on(&mut request);
        let task_ctx = Arc::clone(ctx);
        let session = async move {
            let _permit = permit;
            let upgraded = tokio::select! {
                upgraded = tokio::time::timeout_at(deadline, on_upgrade) => upgraded,
                () = task_ctx.stopped.cancelled() => return,
            };
            let io = match upgraded {
                Ok(Ok(io)) => TokioIo::new(io),
                Ok(Err(err)) => {
                    record::connection_refused(ConnectionRefusal::UpgradeRefused);
                    tracing::info!(error = %err, "http upgrade failed");
                    return;
                }
                Err(_) => {
                    record::connection_refused(ConnectionRefusal::HandshakeTimeout);
                    tracing::warn!("handshake timeout crossed before the upgrade");
                    return;
                }
            };
            let config = websocket::ws_config(&task_ctx.config.session);
            let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
            let upgraded = Upgraded {
                ws: Box::new(WsTransport::new(ws)),
                identity,
                remote_addr,
            };
            connection::run_upgraded(upgraded, id, deadline, &task_ctx).await;
        };
        ctx.tracker.spawn(session.instrument(span));

        let mut response = Response::new(String::new());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        if let Some(protocol) = &ctx.config.subprotocol
            && let Ok(protocol) = HeaderValue::from_str(protocol)
        {
            headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
        }
        response
    }

    /// The endpoint as an axum route: mount it with
    /// `Router::route("/rpc", upgrader.into_route())`. The client's address
    /// is known when the app is served with
    /// `into_make_service_with_connect_info::<SocketAddr>()`.
    #[cfg(feature = "axum")]
    pub fn into_route<S>(self) -> axum::routing::MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        axum::routing::get(move |request: axum::extract::Request| async move {
            let peer = request
                .extensions()
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|info| info.0);
            self.upgrade(request, peer).await
        })
    }
}
