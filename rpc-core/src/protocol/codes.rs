//! Error codes carried by error frames, and the WebSocket close codes the
//! library sends.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a call failed, as carried on the wire (a `u16`, varint-encoded).
///
/// A newtype rather than an enum so that codes from newer peers still decode:
/// match on the associated constants and treat anything else as unknown.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub u16);

impl ErrorCode {
    /// No method with that name is mounted.
    pub const UNKNOWN_METHOD: Self = Self(1);
    /// The arguments did not decode as the method's parameter types.
    pub const BAD_ARGUMENTS: Self = Self(2);
    /// The handler ran and returned an error; error data may follow.
    pub const APPLICATION: Self = Self(3);
    /// The handler did not finish within its deadline.
    pub const TIMEOUT: Self = Self(4);
    /// Too many calls in flight on this connection; retry later.
    pub const BUSY: Self = Self(5);
    /// The peer is shutting down and takes no new calls.
    pub const SHUTTING_DOWN: Self = Self(6);
    /// The handler failed unexpectedly (it panicked, or its reply did not encode).
    pub const INTERNAL: Self = Self(7);
    /// The answer is larger than the caller's `max_message_size` (from its
    /// `Hello`), so it was not sent.
    pub const TOO_LARGE: Self = Self(8);
    /// The method needs an authenticated caller, and the session has no
    /// identity (or not the claims the method asks for).
    pub const UNAUTHENTICATED: Self = Self(9);
    /// A notification (push) arrived on a topic the receiver serves no
    /// method for; sent with id 0, and the message is the topic itself, so
    /// that the sender can report the push as undelivered.
    pub const UNKNOWN_TOPIC: Self = Self(10);
    /// A retry of an operation ([`OPERATION_ID_HEADER`](super::OPERATION_ID_HEADER))
    /// that already ran, whose answer the callee no longer keeps (it was too
    /// large, or pushed out by newer answers): the operation is not run
    /// again, and its outcome is unknown to the caller.
    pub const ANSWER_GONE: Self = Self(11);
    /// The caller is authenticated but may not call this method (a
    /// permission check such as [`Authorize`](crate::middleware::Authorize)
    /// refused it); the handler did not run.
    pub const FORBIDDEN: Self = Self(12);
    /// The caller's schema of the method ([`SCHEMA_HEADER`](super::SCHEMA_HEADER))
    /// is not the callee's: the method's arguments or answers changed shape
    /// on one side. The handler did not run; the arguments were not decoded.
    pub const INCOMPATIBLE_SCHEMA: Self = Self(13);

    /// Short name of a known code, `None` for codes this build does not know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::UNKNOWN_METHOD => "unknown method",
            Self::BAD_ARGUMENTS => "bad arguments",
            Self::APPLICATION => "application error",
            Self::TIMEOUT => "timeout",
            Self::BUSY => "busy",
            Self::SHUTTING_DOWN => "shutting down",
            Self::INTERNAL => "internal error",
            Self::TOO_LARGE => "answer too large",
            Self::UNAUTHENTICATED => "unauthenticated",
            Self::UNKNOWN_TOPIC => "unknown topic",
            Self::ANSWER_GONE => "answer gone",
            Self::FORBIDDEN => "forbidden",
            Self::INCOMPATIBLE_SCHEMA => "incompatible schema",
            _ => return None,
        })
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "ErrorCode({} = {name})", self.0),
            None => write!(f, "ErrorCode({})", self.0),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "error code {}", self.0),
        }
    }
}

/// WebSocket close codes (RFC 6455 section 7.4) the library sends, and when.
pub mod close_code {
    /// The session ended as asked: a client closed it.
    pub const NORMAL: u16 = 1000;
    /// The endpoint is going away: server shutdown, or a dropped client.
    pub const GOING_AWAY: u16 = 1001;
    /// The peer broke the WebSocket protocol or this library's protocol
    /// (malformed frame, bad handshake, version mismatch).
    pub const PROTOCOL: u16 = 1002;
    /// The peer sent a text message; only binary messages are accepted.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// No close frame was received (never sent; reported locally).
    pub const ABNORMAL: u16 = 1006;
    /// A text message that was not UTF-8 (sent only by tungstenite's checks).
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// The peer broke a policy: it missed the handshake deadline, stopped
    /// reading (slow consumer), kept crossing the rate limit, or left a
    /// fragmented message unfinished.
    pub const POLICY: u16 = 1008;
    /// A message (or the fragments in transit) exceeded its size limit.
    pub const TOO_BIG: u16 = 1009;
    /// Reserved for an unexpected internal failure; not sent by this version.
    pub const INTERNAL: u16 = 1011;
    /// The server is draining and takes no new sessions; try again later.
    pub const TRY_AGAIN_LATER: u16 = 1013;
}
