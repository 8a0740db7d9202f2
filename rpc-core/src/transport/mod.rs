//! The seam between the session and the wire: a small frame transport of
//! binary messages in and out, pings, and a close with code and reason. The
//! session engine (handshake, reader, writer, linger) is written against
//! [`Transport`] only, so it runs the same over tokio-tungstenite on any
//! byte stream ([`websocket`]) and over an in-memory pair ([`memory`]) in
//! tests, with no socket type in sight.

pub(crate) mod memory;
pub(crate) mod websocket;

use std::time::Duration;

use bytes::Bytes;
use futures_util::{Sink, Stream, future::BoxFuture};

use crate::{
    codec::CodecError,
    error::{CloseReason, TransportError},
    protocol::close_code,
};

/// What the session sends.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// One binary message: one frame, or one piece of a large one.
    Binary(Bytes),
    /// A heartbeat ping; the peer's transport answers it.
    Ping,
    /// The close handshake, with why.
    Close(CloseReason),
}

/// What one read from the transport means to the protocol.
#[derive(Debug)]
pub(crate) enum Received {
    /// A binary message: one frame (or a piece of one).
    Binary(Bytes),
    /// A ping, a pong or the like: a sign of life, nothing to handle.
    Nothing,
    /// The connection ends: the peer closed or dropped it (`by_peer`), or
    /// this side refuses what it sent and closes with this reason.
    End(CloseReason),
}

/// A connection a session runs over. Reading yields [`Received`] (never
/// `None` before an [`Received::End`]); writing takes [`Outgoing`] and
/// buffers until flushed, so the writer feeds a round and flushes once.
pub(crate) trait Transport:
    Stream<Item = Received> + Sink<Outgoing, Error = TransportError> + Send + Unpin + 'static
{
    /// Ends a connection whose close was sent, without cutting off what is
    /// still on its way to the peer; at most `timeout`.
    fn linger(self: Box<Self>, timeout: Duration) -> BoxFuture<'static, ()>;
}

/// Boxed, so that sessions, servers and clients are not generic over the
/// transport; one virtual call per message is noise beside the syscalls.
pub(crate) type BoxTransport = Box<dyn Transport>;

/// How a binary message that does not decode as a frame closes the
/// connection, in the handshake and after it.
pub(crate) fn malformed(err: &CodecError) -> CloseReason {
    CloseReason::local(
        close_code::PROTOCOL,
        format!("malformed frame: {}", crate::router::err_chain(err)),
    )
}
