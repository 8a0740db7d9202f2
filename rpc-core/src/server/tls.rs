//! TLS on the server's connections: each connection task runs the
//! handshake itself, before its WebSocket upgrade and within the same
//! deadline, so a slow or silent client holds only its own task, never the
//! accept loop.

use bytes::Bytes;
use tokio::time::Instant;

use super::Context;
use crate::{
    metrics::record::{self, ConnectionRefusal},
    transport::websocket::Io,
};

/// `io` behind TLS when the server has a certificate, else `io` itself,
/// with the client's certificate chain if it presented one; `None`, and the
/// connection is to be dropped, when the handshake failed or ran past
/// `deadline` (both logged) or the server stopped first.
pub(super) async fn accept(
    io: Box<dyn Io>,
    deadline: Instant,
    ctx: &Context,
) -> Option<(Box<dyn Io>, Option<Vec<Bytes>>)> {
    let Some(tls) = &ctx.tls else {
        return Some((io, None));
    };
    let handshake = tokio::time::timeout_at(deadline, tls.accept(io));
    let accepted = tokio::select! {
        accepted = handshake => accepted,
        () = ctx.stopped.cancelled() => return None,
    };
    match accepted {
        Ok(Ok(accepted)) => Some(accepted),
        Ok(Err(err)) => {
            let detail =
                std::error::Error::source(&err).map_or_else(String::new, ToString::to_string);
            record::connection_refused(ConnectionRefusal::HandshakeFailed);
            tracing::info!(error = %err, %detail, "tls handshake failed");
            None
        }
        Err(_) => {
            record::connection_refused(ConnectionRefusal::HandshakeTimeout);
            tracing::warn!("handshake timeout crossed during tls");
            None
        }
    }
}
