//! Error types, one per concern: calls ([`Error`]), connecting
//! ([`ConnectError`]), serving ([`ServeError`]), mounting ([`MountError`]).

use std::{fmt, io, time::Duration};

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::{
    codec::{self, CodecError},
    protocol::{ErrorCode, close_code},
};

/// Why a call, cast or discover request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No answer arrived within the call's timeout; a cancel was sent.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The session had ended (or the client was closed) before the request
    /// was sent: nothing reached the peer.
    #[error("session closed: {0}")]
    Closed(CloseReason),
    /// The session ended after the call was sent and before its answer
    /// arrived: the peer may or may not have run it. Retrying is safe only
    /// for a method that tolerates running twice, or one marked
    /// `#[rpc::call(idempotent)]`, which a
    /// [`ReconnectingClient`](crate::ReconnectingClient) retries itself
    /// under an operation id the server de-duplicates.
    #[error("connection lost with the call in flight ({0}): it may or may not have run")]
    Indeterminate(CloseReason),
    /// A [`ReconnectingClient`](crate::ReconnectingClient) had no connection
    /// (and was told to fail at once, or none came back within the call's
    /// timeout): the request was not sent.
    #[error("not connected: the request was not sent")]
    Disconnected,
    /// The peer answered with an error frame.
    #[error(transparent)]
    Remote(RemoteError),
    /// The request could not be encoded: its arguments did not serialize,
    /// or its headers or method name crossed a protocol bound
    /// ([`CodecError::OverBound`]). Nothing was sent.
    #[error("could not encode the request")]
    Encode(#[source] CodecError),
    /// The peer's answer did not decode as the expected type.
    #[error("could not decode the answer")]
    Decode(#[source] CodecError),
    /// The peer's `max_in_flight` (announced in its handshake) was taken by
    /// this side's calls and streams, and [`max_queued_calls`] more waited
    /// for a free one already, so this one was not sent.
    ///
    /// [`max_queued_calls`]: crate::SessionConfig::max_queued_calls
    #[error("{max} requests already wait for the peer's in-flight limit")]
    QueueFull {
        /// The limit, [`SessionConfig::max_queued_calls`](crate::SessionConfig::max_queued_calls).
        max: usize,
    },
    /// A circuit breaker is open after repeated failures (of this method,
    /// or of the endpoint): the call failed fast without being sent. Try
    /// again after `retry_in`, when one probe call may pass.
    #[error("circuit open after repeated failures; retry in {retry_in:?}")]
    CircuitOpen {
        /// Time left until the breaker lets a probe through.
        retry_in: Duration,
    },
    /// The request is larger than the peer's `max_message_size` (announced
    /// in its handshake), so it was not sent.
    #[error("request of {size} bytes exceeds the peer's message size limit of {max} bytes")]
    TooLarge {
        /// Size of the encoded request.
        size: usize,
        /// The peer's limit.
        max: usize,
    },
}

impl Error {
    /// One word for what went wrong, for logs and command-line tools:
    /// `timeout`, `closed`, `indeterminate`, `disconnected`, `encode`,
    /// `decode`, `queue-full`, `circuit-open`, `too-large`, or for an error
    /// answer the code's word: `unknown-method`, `bad-arguments`,
    /// `application`, `remote-timeout`, `busy`, `shutting-down`,
    /// `internal`, `answer-too-large`, `unauthenticated`, `unknown-topic`,
    /// `answer-gone`, `forbidden`, `incompatible-schema`, `remote` (a code
    /// this build does not know).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Timeout(_) => "timeout",
            Error::Closed(_) => "closed",
            Error::Indeterminate(_) => "indeterminate",
            Error::Disconnected => "disconnected",
            Error::Encode(_) => "encode",
            Error::Decode(_) => "decode",
            Error::QueueFull { .. } => "queue-full",
            Error::CircuitOpen { .. } => "circuit-open",
            Error::TooLarge { .. } => "too-large",
            Error::Remote(remote) => match remote.code {
                ErrorCode::UNKNOWN_METHOD => "unknown-method",
                ErrorCode::BAD_ARGUMENTS => "bad-arguments",
                ErrorCode::APPLICATION => "application",
                ErrorCode::TIMEOUT => "remote-timeout",
                ErrorCode::BUSY => "busy",
                ErrorCode::SHUTTING_DOWN => "shutting-down",
                ErrorCode::INTERNAL => "internal",
                ErrorCode::TOO_LARGE => "answer-too-large",
                ErrorCode::UNAUTHENTICATED => "unauthenticated",
                ErrorCode::UNKNOWN_TOPIC => "unknown-topic",
                ErrorCode::ANSWER_GONE => "answer-gone",
                ErrorCode::FORBIDDEN => "forbidden",
                ErrorCode::INCOMPATIBLE_SCHEMA => "incompatible-schema",
                _ => "remote",
            },
        }
    }

    /// Whether the call ran out of time, here or at the peer.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout(_) => true,
            Error::Remote(remote) => remote.code == ErrorCode::TIMEOUT,
            _ => false,
        }
    }

    /// Whether the session ended (or the peer is shutting down), so that the
    /// call may succeed on a new connection: [`Error::Closed`],
    /// [`Error::Indeterminate`], [`Error::Disconnected`] or a
    /// `shutting down` answer.
    pub fn is_closed(&self) -> bool {
        match self {
            Error::Closed(_) | Error::Indeterminate(_) | Error::Disconnected => true,
            Error::Remote(remote) => remote.code == ErrorCode::SHUTTING_DOWN,
            _ => false,
        }
    }

    /// Whether the call certainly did not run, so that sending it again
    /// cannot make it run twice: it was never sent ([`Error::Closed`],
    /// [`Error::Disconnected`], [`Error::QueueFull`]), or the peer refused
    /// it before running it (`busy`, `shutting down`).
    ///
    /// [`Error::Indeterminate`] and [`Error::Timeout`] are not: the call
    /// may have run. Nor are errors that would only repeat themselves
    /// (encoding, decoding, size, the handler's own errors).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Closed(_)
            | Error::Disconnected
            | Error::QueueFull { .. }
            | Error::CircuitOpen { .. } => true,
            Error::Remote(remote) => {
                remote.code == ErrorCode::BUSY || remote.code == ErrorCode::SHUTTING_DOWN
            }
            _ => false,
        }
    }

    /// Whether the connection dropped while the call was in flight, leaving
    /// its outcome unknown ([`Error::Indeterminate`]).
    pub fn is_indeterminate(&self) -> bool {
        matches!(self, Error::Indeterminate(_))
    }

    /// Whether the call was refused because too many were in flight: by the
    /// peer (`busy`), or here, where too many waited for the peer's limit
    /// ([`Error::QueueFull`]).
    pub fn is_busy(&self) -> bool {
        matches!(self, Error::QueueFull { .. }) || self.remote_code() == Some(ErrorCode::BUSY)
    }

    /// The error code the peer answered with, if it answered with an error.
    pub fn remote_code(&self) -> Option<ErrorCode> {
        self.remote().map(RemoteError::code)
    }

    /// Why the session ended, if that is what failed the call.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        match self {
            Error::Closed(reason) | Error::Indeterminate(reason) => Some(reason),
            _ => None,
        }
    }

    /// The peer's error answer, if that is what this is.
    pub fn remote(&self) -> Option<&RemoteError> {
        match self {
            Error::Remote(remote) => Some(remote),
            _ => None,
        }
    }
}

/// An error answer from the peer: a code, a message, and for application
/// errors the postcard encoding of the handler's error value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("peer answered {code}: {message}")]
pub struct RemoteError {
    code: ErrorCode,
    message: String,
    data: Bytes,
}

impl RemoteError {
    pub(crate) fn new(code: ErrorCode, message: String, data: Bytes) -> Self {
        Self {
            code,
            message,
            data,
        }
    }

    /// What went wrong, as a number a program can match.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// What went wrong, for a person.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Encoded error value sent by the handler (empty if there is none).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Decodes the handler's error value as `E`.
    ///
    /// # Errors
    ///
    /// When the data is absent or is not an encoding of `E`.
    pub fn decode_data<E: DeserializeOwned>(&self) -> Result<E, CodecError> {
        codec::decode_value(&self.data)
    }
}

/// How and by whom a session was closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseReason {
    /// WebSocket close code (see [`close_code`]).
    pub code: u16,
    /// Human-readable reason sent with the close frame.
    pub reason: String,
    /// Whether the peer closed the session (rather than this side).
    pub by_peer: bool,
}

impl CloseReason {
    pub(crate) fn local(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
            by_peer: false,
        }
    }

    pub(crate) fn remote(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
            by_peer: true,
        }
    }

    /// The connection dropped without a close frame.
    pub(crate) fn abnormal(reason: impl Into<String>) -> Self {
        Self::remote(close_code::ABNORMAL, reason)
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = if self.by_peer {
            "by the peer"
        } else {
            "locally"
        };
        if self.reason.is_empty() {
            write!(f, "closed {who} with code {}", self.code)
        } else {
            write!(f, "closed {who} with code {} ({})", self.code, self.reason)
        }
    }
}

/// A failure of the connection under the protocol (the WebSocket, or the
/// in-memory transport); opaque so that the WebSocket crate's version is
/// not part of this API.
pub struct TransportError(Failure);

enum Failure {
    WebSocket(tokio_tungstenite::tungstenite::Error),
    Closed(&'static str),
}

impl TransportError {
    pub(crate) fn websocket(err: tokio_tungstenite::tungstenite::Error) -> Self {
        Self(Failure::WebSocket(err))
    }

    pub(crate) fn closed(why: &'static str) -> Self {
        Self(Failure::Closed(why))
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Failure::WebSocket(err) => fmt::Debug::fmt(err, f),
            Failure::Closed(why) => f.debug_tuple("Closed").field(why).finish(),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Failure::WebSocket(err) => fmt::Display::fmt(err, f),
            Failure::Closed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for TransportError {}

/// Why the protocol handshake (after the WebSocket upgrade) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The two sides share no protocol version.
    #[error("no common protocol version: we speak {ours:?}, the peer {theirs:?}")]
    VersionMismatch {
        /// Versions this side speaks (lowest, highest).
        ours: (u16, u16),
        /// Versions the peer speaks (lowest, highest), when it said.
        theirs: Option<(u16, u16)>,
    },
    /// The peer sent a frame other than the expected handshake frame.
    #[error("expected a {expected} frame, got {got}")]
    UnexpectedFrame {
        /// Frame kind expected.
        expected: &'static str,
        /// Frame kind (or message type) received.
        got: String,
    },
    /// The handshake frame did not decode.
    #[error("malformed handshake frame")]
    Malformed(#[source] CodecError),
    /// This side refused the connection and closed it with this reason: the
    /// peer sent a text, invalid or oversized message, or the server began
    /// shutting down before the handshake finished (1013).
    #[error("handshake refused: {0}")]
    Refused(CloseReason),
    /// The connection closed during the handshake.
    #[error("connection ended during the handshake: {0}")]
    Closed(CloseReason),
    /// The WebSocket failed during the handshake.
    #[error("websocket failure during the handshake")]
    Transport(#[source] TransportError),
}

/// Why [`Client::connect`](crate::Client::connect) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The address is not a valid `ws://` or `wss://` URL, or is `wss://`
    /// without the `tls` feature.
    #[error("invalid url `{url}`: {why}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The TCP connection failed.
    #[error("could not open a TCP connection")]
    Io(#[source] io::Error),
    /// Connecting (TCP, upgrade and handshake) took longer than allowed.
    #[error("no connection within {0:?}")]
    Timeout(Duration),
    /// The server refused the upgrade with an HTTP status (401, 403, 503, ...).
    #[error("server refused the connection with HTTP {status}{}", body.as_deref().map(|b| format!(": {b}")).unwrap_or_default())]
    Refused {
        /// HTTP status code.
        status: u16,
        /// Response body, if the server sent one.
        body: Option<String>,
    },
    /// The WebSocket upgrade failed for another reason.
    #[error("websocket upgrade failed")]
    Upgrade(#[source] TransportError),
    /// The TLS handshake of a `wss://` connection failed: the server's
    /// certificate was refused ([`TlsError::is_wrong_host`],
    /// [`TlsError::is_unknown_issuer`]) or the server does not speak TLS.
    ///
    /// [`TlsError::is_wrong_host`]: crate::TlsError::is_wrong_host
    /// [`TlsError::is_unknown_issuer`]: crate::TlsError::is_unknown_issuer
    #[cfg(feature = "tls")]
    #[error("could not secure the connection with tls")]
    Tls(#[source] crate::tls::TlsError),
    /// The protocol handshake failed.
    #[error("protocol handshake failed")]
    Handshake(#[source] HandshakeError),
    /// The client's routers conflict.
    #[error("routers could not be mounted")]
    Mount(#[source] MountError),
    /// The configuration is invalid.
    #[error("invalid configuration")]
    Config(#[source] crate::config::ConfigError),
}

impl ConnectError {
    /// The HTTP status of a refused upgrade.
    pub fn status(&self) -> Option<u16> {
        match self {
            ConnectError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether trying again later may succeed: the server was unreachable,
    /// slow, restarting or overloaded (an I/O error, a timeout, HTTP 408,
    /// 429 or 5xx, a connection lost during the handshake). Refusals that
    /// would only repeat themselves are not: a bad URL or configuration,
    /// a refused TLS certificate, another protocol version, and HTTP 4xx
    /// such as 401 and 403 (wrong credentials are not retried in a loop).
    pub fn is_retryable(&self) -> bool {
        match self {
            ConnectError::Io(_) | ConnectError::Timeout(_) | ConnectError::Upgrade(_) => true,
            ConnectError::Refused { status, .. } => {
                matches!(status, 408 | 429) || (500..600).contains(status)
            }
            ConnectError::Handshake(err) => matches!(
                err,
                HandshakeError::Closed(_)
                    | HandshakeError::Transport(_)
                    | HandshakeError::Refused(_)
            ),
            _ => false,
        }
    }

    /// Why the TLS handshake failed, if that is what failed.
    #[cfg(feature = "tls")]
    pub fn tls(&self) -> Option<&crate::tls::TlsError> {
        match self {
            ConnectError::Tls(err) => Some(err),
            _ => None,
        }
    }
}

/// Why routers could not be mounted together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MountError {
    /// Two methods share a wire name.
    #[error(
        "method `{method}` of router `{second}` is already served by router `{first}`; rename one with #[rpc::call(name = \"...\")]"
    )]
    DuplicateMethod {
        /// The wire name.
        method: String,
        /// The router mounted first.
        first: String,
        /// The router that collided with it.
        second: String,
    },
    /// A method name is empty or uses the reserved `rpc.` prefix.
    #[error(
        "router `{router}` has an invalid method name `{method}`: names must be non-empty, at most 256 bytes long, and must not start with `rpc.`"
    )]
    InvalidName {
        /// The offending name.
        method: String,
        /// Its router.
        router: String,
    },
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The mounted routers conflict.
    #[error("routers could not be mounted")]
    Mount(#[from] MountError),
    /// The configuration is invalid.
    #[error("invalid configuration")]
    Config(#[from] crate::config::ConfigError),
    /// The listening socket could not be bound.
    #[error("could not bind the listening socket")]
    Bind(#[source] io::Error),
}
