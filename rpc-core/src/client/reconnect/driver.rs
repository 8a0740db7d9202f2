//! The task behind a [`ReconnectingClient`](super::ReconnectingClient):
//! connect, run the `on_connected` hook, publish the connection, wait for
//! it to end, back off, and again, until stopped or out of attempts.

use std::sync::Arc;

use tokio::net::TcpStream;

use super::{ConnectionEvent, Link, OnConnected, ReconnectPolicy, Shared};
use crate::{
    client::{Client, Connector},
    error::{CloseReason, ConnectError},
    metrics::record::{self, Attempt},
    protocol::close_code,
};

/// What ended one connection's life.
enum Ended {
    /// The connection dropped: try again, counting attempts from 1.
    Lost,
    /// The `on_connected` hook failed on it: a failed attempt, which
    /// counts towards the policy's maximum.
    Refused,
    /// The client was stopped.
    Stopped,
}

pub(super) async fn run(
    shared: Arc<Shared>,
    connector: Connector,
    policy: ReconnectPolicy,
    on_connected: Option<OnConnected>,
) {
    let mut resumed = false;
    let mut attempt = 0_u32;
    let mut last_error: Option<Arc<ConnectError>> = None;
    let gave_up = loop {
        if attempt > 0 {
            if !policy.allows(attempt) {
                break last_error;
            }
            let delay = policy.delay(attempt);
            shared.link.send_replace(Link::Down(attempt));
            shared.emit(ConnectionEvent::Reconnecting {
                attempt,
                delay,
                error: last_error.clone(),
            });
            tokio::select! {
                () = shared.stop.cancelled() => break None,
                () = tokio::time::sleep(delay) => {}
            }
        }
        let connected = tokio::select! {
            () = shared.stop.cancelled() => break None,
            connected = connector.connect(None::<TcpStream>) => connected,
        };
        let client = match connected {
            Ok(client) => client,
            Err(err) => {
                record::reconnect_attempt(Attempt::Failed);
                tracing::debug!(url = connector.url(), error = %err, attempt, "connect failed");
                let retryable = err.is_retryable();
                last_error = Some(Arc::new(err));
                if !retryable {
                    break last_error;
                }
                attempt += 1;
                continue;
            }
        };
        match serve(&shared, client, on_connected.as_ref(), resumed).await {
            Ended::Stopped => break None,
            Ended::Lost => {
                resumed = true;
                last_error = None;
                attempt = 1;
            }
            Ended::Refused => attempt += 1,
        }
    };
    let reason = match &gave_up {
        Some(err) => CloseReason::local(close_code::ABNORMAL, format!("gave up: {err}")),
        None => super::closed_by_user(),
    };
    shared.link.send_replace(Link::Closed(reason));
    shared.emit(ConnectionEvent::Closed { error: gave_up });
}

/// Lets calls through `client` until its session ends or the client is
/// stopped.
async fn serve(
    shared: &Shared,
    client: Client,
    on_connected: Option<&OnConnected>,
    resumed: bool,
) -> Ended {
    let peer = client.session().peer();
    if let Some(hook) = on_connected {
        let outcome = tokio::select! {
            () = shared.stop.cancelled() => {
                client.close().await;
                return Ended::Stopped;
            }
            outcome = hook(peer.clone()) => outcome,
        };
        if let Err(err) = outcome {
            record::reconnect_attempt(Attempt::HookFailed);
            tracing::warn!(url = %shared.url, error = %err, "the on_connected hook failed; reconnecting");
            client.close().await;
            return Ended::Refused;
        }
    }
    record::reconnect_attempt(Attempt::Connected);
    shared.link.send_replace(Link::Up(peer.clone()));
    shared.emit(ConnectionEvent::Connected {
        session_id: peer.session_id(),
        resumed,
    });
    tokio::select! {
        () = shared.stop.cancelled() => {
            client.close().await;
            Ended::Stopped
        }
        reason = peer.closed() => {
            record::reconnect_disconnect();
            tracing::info!(url = %shared.url, %reason, "connection lost; reconnecting");
            shared.emit(ConnectionEvent::Disconnected { reason });
            // The session has ended: wait for its tasks, then drop it.
            client.close().await;
            Ended::Lost
        }
    }
}
