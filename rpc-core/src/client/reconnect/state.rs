//! The connection state of a reconnecting client, and the events that tell
//! each transition.

use std::{fmt, sync::Arc, time::Duration};

use tokio::sync::broadcast;

use crate::error::{CloseReason, ConnectError};

/// Where a [`ReconnectingClient`](crate::ReconnectingClient) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Making its first connection.
    Connecting,
    /// Connected: calls go out at once.
    Connected,
    /// Lost its connection (or failed to make one) and is waiting for, or
    /// making, attempt number `attempt` (from 1) to connect again.
    Reconnecting {
        /// The attempt, counting from 1 since the last connection.
        attempt: u32,
    },
    /// Closed for good: by [`close`](crate::ReconnectingClient::close), by
    /// dropping every handle, or because it gave up (see
    /// [`ConnectionEvent::Closed`]).
    Closed,
}

impl ConnectionState {
    /// A word for the state: `connecting`, `connected`, `reconnecting` or
    /// `closed`.
    pub fn name(&self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Reconnecting { .. } => "reconnecting",
            ConnectionState::Closed => "closed",
        }
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionState::Reconnecting { attempt } => write!(f, "reconnecting ({attempt})"),
            other => f.write_str(other.name()),
        }
    }
}

/// A transition of a [`ReconnectingClient`](crate::ReconnectingClient)'s
/// connection, from [`events`](crate::ReconnectingClient::events).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// A connection is up (state [`ConnectionState::Connected`]), and the
    /// [`on_connected`](crate::ReconnectingBuilder::on_connected) hook has
    /// run on it. `resumed` is true for every connection but the first: the
    /// server sees a new session, and pushes and stream items sent while
    /// the client was away are lost, so anything subscribed to may have a
    /// gap.
    Connected {
        /// The new session's id.
        session_id: u64,
        /// Whether this replaces a lost connection.
        resumed: bool,
    },
    /// The connection ended; calls that were in flight failed with
    /// [`Error::Indeterminate`](crate::Error::Indeterminate).
    Disconnected {
        /// Why it ended.
        reason: CloseReason,
    },
    /// The client waits `delay` before attempt `attempt` (state
    /// [`ConnectionState::Reconnecting`]); `error` is why the previous
    /// attempt failed, if one did.
    Reconnecting {
        /// The attempt about to be made, from 1.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
        /// The previous attempt's failure.
        error: Option<Arc<ConnectError>>,
    },
    /// The client closed for good (state [`ConnectionState::Closed`]).
    /// `error` says why when it gave up: a refusal that retrying would only
    /// repeat (wrong credentials: the server's status and reason are in
    /// [`ConnectError::Refused`]) or the last failure once the policy's
    /// attempts ran out. `None` when it was closed.
    Closed {
        /// Why it gave up, if it did.
        error: Option<Arc<ConnectError>>,
    },
}

impl ConnectionEvent {
    /// The state this event moves the client to, if it moves it
    /// (`Disconnected` is followed by `Reconnecting` or `Closed`).
    pub fn state(&self) -> Option<ConnectionState> {
        match self {
            ConnectionEvent::Connected { .. } => Some(ConnectionState::Connected),
            ConnectionEvent::Disconnected { .. } => None,
            ConnectionEvent::Reconnecting { attempt, .. } => {
                Some(ConnectionState::Reconnecting { attempt: *attempt })
            }
            ConnectionEvent::Closed { .. } => Some(ConnectionState::Closed),
        }
    }
}

/// The events of a [`ReconnectingClient`](crate::ReconnectingClient) from
/// the moment this was made. Keeps the last 64 unread; a reader that falls
/// further behind skips the oldest (a `tracing` warning says how many).
#[derive(Debug)]
pub struct ConnectionEvents {
    pub(crate) rx: broadcast::Receiver<ConnectionEvent>,
}

impl ConnectionEvents {
    /// The next event; `None` once the client has closed and every event
    /// was read.
    pub async fn next(&mut self) -> Option<ConnectionEvent> {
        loop {
            match self.rx.recv().await {
                Ok(event) => return Some(event),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "connection events were skipped: read them faster");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconnecting(attempt: u32) -> ConnectionEvent {
        ConnectionEvent::Reconnecting {
            attempt,
            delay: Duration::ZERO,
            error: None,
        }
    }

    #[tokio::test]
    async fn a_reader_that_falls_behind_skips_the_oldest_and_goes_on() {
        let (tx, rx) = broadcast::channel(2);
        let mut events = ConnectionEvents { rx };
        for attempt in 1..=5 {
            tx.send(reconnecting(attempt)).unwrap();
        }
        drop(tx);
        let mut read = Vec::new();
        while let Some(event) = events.next().await {
            read.push(event.state());
        }
        // The two newest survive; the reader is not stuck on the lag.
        assert_eq!(
            read,
            [4, 5].map(|attempt| Some(ConnectionState::Reconnecting { attempt }))
        );
    }
}
