//! Accepting connections: the accept loop, the upgrade (see `upgrade`), the
//! protocol handshake, then the session.

use std::{
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use futures_util::{Stream, StreamExt};
use tokio::{sync::OwnedSemaphorePermit, time::Instant};
use tracing::Instrument;

use super::{
    Context,
    upgrade::{Upgraded, upgrade},
};
use crate::{
    identity::Identity,
    metrics::record::{self, ConnectionRefusal},
    protocol::{Features, Limits, close_code},
    recording::{self, RecordedSide},
    session::{self, Role, Setup, handshake},
    transport::{BoxTransport, websocket::Io},
};

/// Connections over the limit that are told 503 at once, each by a task
/// bounded by the handshake timeout; past this many, a connection over the
/// limit is closed at once, so a flood of connections costs a bounded
/// number of tasks.
pub(super) const MAX_REFUSING: usize = 64;

/// A connection accepted from the listener or the caller's stream.
pub(super) struct Accepted {
    pub(super) io: Box<dyn Io>,
    pub(super) remote_addr: Option<SocketAddr>,
}

/// Where connections come from.
pub(super) type Incoming = Pin<Box<dyn Stream<Item = std::io::Result<Accepted>> + Send>>;

/// Accepts until the server has stopped; each connection gets a task of its
/// own. Once shutdown begins, connections are still accepted, to be refused
/// with HTTP 503 rather than a TCP reset, until the last session has ended.
pub(super) async fn accept_loop(mut incoming: Incoming, ctx: Arc<Context>) {
    let stopped = async {
        ctx.shutdown.cancelled().await;
        ctx.sessions.close();
        ctx.sessions.wait().await;
    };
    tokio::pin!(stopped);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut stopped => break,
            accepted = incoming.next() => accepted,
        };
        match accepted {
            // The caller's stream ended: no more connections, but the
            // sessions go on; the server stops once they have ended.
            None => {
                ctx.sessions.close();
                ctx.sessions.wait().await;
                break;
            }
            Some(Ok(Accepted { io, remote_addr })) => {
                // Over the limit the connection still gets a task, bounded by
                // the handshake timeout, so that it can be told 503; a few
                // of them at a time.
                let permit = Arc::clone(&ctx.connections).try_acquire_owned().ok();
                let refusing = if permit.is_some() {
                    None
                } else if let Ok(refusing) = Arc::clone(&ctx.refusing).try_acquire_owned() {
                    Some(refusing)
                } else {
                    record::connection_refused(ConnectionRefusal::ConnectionLimit);
                    tracing::debug!(peer = ?remote_addr, "over the connection limit; closed at once");
                    continue;
                };
                let ctx = Arc::clone(&ctx);
                ctx.tracker.clone().spawn(async move {
                    let _refusing = refusing;
                    serve(io, remote_addr, permit, ctx).await;
                });
            }
            Some(Err(err)) => {
                // Out of file descriptors and similar: back off instead of spinning.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    ctx.stopped.cancel();
    tracing::debug!("accept loop stopped");
}

async fn serve(
    io: Box<dyn Io>,
    addr: Option<SocketAddr>,
    permit: Option<OwnedSemaphorePermit>,
    ctx: Arc<Context>,
) {
    let id = ctx.next_session.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("connection", id, peer = ?addr);
    async {
        let deadline = crate::deadline::after(ctx.config.handshake_timeout);
        #[cfg(feature = "tls")]
        let Some((io, certificates)) = super::tls::accept(io, deadline, &ctx).await else {
            return;
        };
        #[cfg(not(feature = "tls"))]
        let certificates = None;
        // A connection still upgrading when the server stops is only
        // waiting to be refused: it is dropped rather than waited for.
        let upgrade = tokio::time::timeout_at(
            deadline,
            upgrade(io, addr, certificates, permit.is_some(), &ctx),
        );
        let upgraded = tokio::select! {
            upgraded = upgrade => upgraded,
            () = ctx.stopped.cancelled() => return,
        };
        let upgraded = match upgraded {
            Ok(Ok(upgraded)) => upgraded,
            Ok(Err(refusal)) => {
                // Over the limit, the upgrade counted it as such.
                if permit.is_some() {
                    record::connection_refused(ConnectionRefusal::UpgradeRefused);
                }
                tracing::info!(%refusal, "upgrade refused");
                return;
            }
            Err(_) => {
                record::connection_refused(ConnectionRefusal::HandshakeTimeout);
                tracing::warn!("handshake timeout crossed before the upgrade");
                return;
            }
        };
        run_upgraded(upgraded, id, deadline, &ctx).await;
    }
    .instrument(span)
    .await;
    drop(permit);
}

/// Runs an upgraded connection: the protocol handshake (by `deadline`),
/// then the session.
pub(super) async fn run_upgraded(upgraded: Upgraded, id: u64, deadline: Instant, ctx: &Context) {
    let Upgraded {
        ws,
        identity,
        remote_addr,
    } = upgraded;
    let mut ws = recording::tap(ws, &ctx.config.session, RecordedSide::Server, Some(id));
    // From here the connection may become a session, so the accept loop
    // keeps answering others until it has ended.
    let _session = ctx.sessions.token();
    let (client_limits, features) = match tokio::time::timeout_at(
        deadline,
        handshake::accept(&mut ws, id, &ctx.config.session, &ctx.shutdown),
    )
    .await
    {
        Ok(Ok(agreed)) => agreed,
        Ok(Err(err)) => {
            record::connection_refused(ConnectionRefusal::HandshakeFailed);
            tracing::info!(error = %err, "protocol handshake failed");
            return ws.linger(ctx.config.session.close_timeout).await;
        }
        Err(_) => {
            record::connection_refused(ConnectionRefusal::HandshakeTimeout);
            tracing::warn!("handshake timeout crossed");
            handshake::refuse(&mut ws, close_code::POLICY, "handshake timed out").await;
            return ws.linger(ctx.config.session.close_timeout).await;
        }
    };
    run_session(
        ws,
        remote_addr,
        identity,
        id,
        (client_limits, features),
        ctx,
    )
    .await;
}

async fn run_session(
    ws: BoxTransport,
    addr: Option<SocketAddr>,
    identity: Option<Identity>,
    id: u64,
    (peer_limits, features): (Limits, Features),
    ctx: &Context,
) {
    let setup = Setup {
        id,
        role: Role::Server,
        remote_addr: addr,
        identity,
        config: ctx.config.session.clone(),
        routes: Arc::clone(&ctx.routes),
        described: ctx.described.clone(),
        tracker: ctx.tracker.clone(),
        registry: Some(ctx.registry.clone()),
        dead_letters: ctx.dead_letters.clone(),
        peer_limits,
        features,
        shutdown: ctx.shutdown.child_token(),
        shutdown_grace: Some(ctx.config.shutdown_grace),
        hooks: ctx.hooks.clone(),
    };
    // The session drains itself on shutdown (`shutdown_grace`).
    let (_, drive) = session::start_serving(ws, setup, ctx.operations.clone());
    drive.await;
}
