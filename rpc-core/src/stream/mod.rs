//! Streams: server streaming (a call answered by many items), client
//! streaming (many items answered by one value) and bidirectional, with
//! credit-based flow control, cancellation both ways and idle timeouts.
//!
//! The caller opens with [`Peer::open`](crate::Peer::open),
//! [`Peer::open_bidi`](crate::Peer::open_bidi) or
//! [`Peer::call_with_upload`](crate::Peer::call_with_upload); the handler
//! answers with [`Request::send_stream`](crate::Request::send_stream) and
//! reads uploads with [`Request::incoming`](crate::Request::incoming).

mod bidi;
mod incoming;
mod open;
mod serve;

pub use bidi::BidiStream;
pub use incoming::{Incoming, RawIncoming};

use std::time::Duration;

use crate::{
    codec::CodecError,
    error::{CloseReason, RemoteError},
    protocol::ErrorCode,
};

/// Why a stream ended early.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// No item arrived within the stream's idle timeout; the stream was
    /// cancelled.
    #[error("no item within {0:?}")]
    Timeout(Duration),
    /// The session ended.
    #[error("session closed: {0}")]
    Transport(CloseReason),
    /// The other side answered with an error (unknown method, bad
    /// arguments, or the handler's own error).
    #[error(transparent)]
    Application(RemoteError),
    /// An item did not decode as the expected type.
    #[error("an item did not decode")]
    Decode(#[source] std::sync::Arc<CodecError>),
}

impl StreamError {
    /// Whether the stream timed out waiting for an item.
    pub fn is_timeout(&self) -> bool {
        matches!(self, StreamError::Timeout(_))
    }

    /// Whether the session ended under the stream, or the peer ended the
    /// stream because it is shutting down: a new connection may serve it.
    pub fn is_closed(&self) -> bool {
        match self {
            StreamError::Transport(_) => true,
            StreamError::Application(remote) => remote.code() == ErrorCode::SHUTTING_DOWN,
            _ => false,
        }
    }
}

/// Options of one stream.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StreamOptions {
    /// Items the other side may send before this side grants more. Default:
    /// the session's [`stream_window`](crate::SessionConfig::stream_window).
    pub window: Option<u32>,
    /// Longest wait for the next item before the stream yields
    /// [`StreamError::Timeout`] and is cancelled. Default: the session's
    /// [`stream_idle_timeout`](crate::SessionConfig::stream_idle_timeout).
    pub idle_timeout: Option<Duration>,
    /// Metadata headers (name, value). Default: none.
    pub headers: Vec<(String, String)>,
    /// The caller's schema hash of the method, which typed stubs set: sent
    /// until the peer has accepted it once in the session, as
    /// [`CallOptions::schema_hash`](crate::CallOptions::schema_hash) is.
    /// Default: `None`, no check.
    pub schema_hash: Option<u64>,
}

impl StreamOptions {
    /// Sets [`window`](Self::window).
    pub fn window(mut self, items: u32) -> Self {
        self.window = Some(items);
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets [`schema_hash`](Self::schema_hash).
    pub fn schema_hash(mut self, hash: u64) -> Self {
        self.schema_hash = Some(hash);
        self
    }
}
