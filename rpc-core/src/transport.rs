//! The WebSocket adapter: any byte stream becomes a tokio-tungstenite
//! WebSocket with limits taken from [`SessionConfig`], what is read becomes
//! a frame or a close code (the same rules before and after the protocol
//! handshake), and a closing connection lingers until the peer hangs up.

use std::time::Duration;

use bytes::Bytes;
use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        self, Message,
        error::{CapacityError, ProtocolError},
        protocol::{CloseFrame, WebSocketConfig, frame::coding::CloseCode},
    },
};

use crate::{codec::CodecError, config::SessionConfig, error::CloseReason, protocol::close_code};

/// A byte stream a session can run over: TCP, an in-memory pipe, TLS later.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// Boxed so that sessions, servers and clients are not generic over the
/// stream type; one virtual call per read or write syscall is noise.
pub(crate) type BoxIo = Box<dyn Io>;

/// The WebSocket every session runs on.
pub(crate) type Ws = WebSocketStream<BoxIo>;

/// Write-buffer size: frames are fed into it and written by one flush per
/// batch, so it only needs to hold a typical batch.
const WRITE_BUFFER: usize = 64 << 10;

/// Room in the write buffer beyond a batch and the largest frame the writer
/// sends: a frame's header and the frame kind of a fragment piece.
const WRITE_SLACK: usize = 4 << 10;

/// Socket options of every connection: no Nagle delay (the writer batches
/// already), and TCP keepalive so that a peer whose host vanished is
/// noticed by the kernel even where heartbeats are off.
pub(crate) fn tune(tcp: &tokio::net::TcpStream, keepalive: Option<Duration>) {
    let _ = tcp.set_nodelay(true);
    if let Some(idle) = keepalive {
        let probes = socket2::TcpKeepalive::new()
            .with_time(idle)
            .with_interval(idle / 4)
            .with_retries(4);
        if let Err(err) = socket2::SockRef::from(tcp).set_tcp_keepalive(&probes) {
            tracing::debug!(error = %err, "tcp keepalive not set");
        }
    }
}

/// Tungstenite settings enforcing the session's limits. The frame limit
/// equals the message limit so that an oversized frame is refused from its
/// header, before its payload is buffered.
///
/// The write buffer is bounded too: tungstenite queues a pong for every
/// ping it reads, and while the peer does not read, each pong would stay in
/// the buffer, so a ping flood would grow it without end. Bounded, the
/// pongs that do not fit are coalesced into one. The bound holds a batch
/// and the largest frame the writer sends (a fragment piece: longer
/// messages are fragmented), so the writer's own frames always fit once the
/// buffer is flushed ([`feed`]).
pub(crate) fn ws_config(config: &SessionConfig) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(config.read_buffer_size)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER + config.fragment_size + WRITE_SLACK)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size))
}

/// Sends `message` ([`feed`], then flush).
pub(crate) async fn send<S>(sink: &mut S, message: Message) -> Result<(), tungstenite::Error>
where
    S: futures_util::Sink<Message, Error = tungstenite::Error> + Unpin,
{
    feed(sink, message).await?;
    sink.flush().await
}

/// Feeds `message` to `sink`; when the write buffer is full (of pongs
/// tungstenite queued while the peer did not read), flushes it first. Each
/// retry waits for the peer to read, so this never spins.
pub(crate) async fn feed<S>(sink: &mut S, mut message: Message) -> Result<(), tungstenite::Error>
where
    S: futures_util::Sink<Message, Error = tungstenite::Error> + Unpin,
{
    loop {
        match sink.feed(message).await {
            Err(tungstenite::Error::WriteBufferFull(full)) => {
                sink.flush().await?;
                message = *full;
            }
            done => return done,
        }
    }
}

/// What one read from the WebSocket means to the protocol.
#[derive(Debug)]
pub(crate) enum Received {
    /// A binary message: one frame (or a piece of one).
    Binary(Bytes),
    /// A ping, a pong or a raw frame: nothing for the protocol to do.
    Nothing,
    /// The connection ends: the peer closed or dropped it (`by_peer`), or
    /// this side refuses what it sent and closes with this reason.
    End(CloseReason),
}

/// Sorts one read from the WebSocket. The handshake and the session's reader
/// both use it, so a peer's input gets the same close code in every phase:
/// text 1003, invalid UTF-8 1007, oversize 1009, WebSocket violations 1002.
pub(crate) fn received(next: Option<Result<Message, tungstenite::Error>>) -> Received {
    match next {
        Some(Ok(Message::Binary(bytes))) => Received::Binary(bytes),
        // Tungstenite answers pings itself; pongs need nothing.
        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Received::Nothing,
        Some(Ok(Message::Text(_))) => Received::End(CloseReason::local(
            close_code::UNSUPPORTED_DATA,
            "text messages are not accepted; send binary frames",
        )),
        Some(Ok(Message::Close(frame))) => Received::End(received_close(frame.as_ref())),
        Some(Err(err)) => Received::End(read_failure(&err)),
        None => Received::End(CloseReason::abnormal(
            "connection ended without a close frame",
        )),
    }
}

/// How a binary message that does not decode as a frame closes the
/// connection, in the handshake and after it.
pub(crate) fn malformed(err: &CodecError) -> CloseReason {
    CloseReason::local(
        close_code::PROTOCOL,
        format!("malformed frame: {}", crate::router::err_chain(err)),
    )
}

/// How a failed read ends the connection: tungstenite reports protocol and
/// capacity errors but sends nothing, so this side answers with the close
/// code the RFC gives for each.
fn read_failure(err: &tungstenite::Error) -> CloseReason {
    use tungstenite::Error as E;
    match err {
        E::Capacity(CapacityError::MessageTooLong { size, max_size }) => CloseReason::local(
            close_code::TOO_BIG,
            format!("message of {size} bytes exceeds the limit of {max_size} bytes"),
        ),
        E::Capacity(other) => CloseReason::local(close_code::TOO_BIG, other.to_string()),
        E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            CloseReason::abnormal("connection reset without a close frame")
        }
        E::Protocol(violation) => CloseReason::local(close_code::PROTOCOL, violation.to_string()),
        E::Utf8(_) => CloseReason::local(close_code::INVALID_PAYLOAD, "text message is not UTF-8"),
        other => CloseReason::abnormal(other.to_string()),
    }
}

/// A close message carrying `reason`; the reason is cut to the 123 bytes a
/// control frame allows.
pub(crate) fn close_message(reason: &CloseReason) -> Message {
    let mut text = reason.reason.as_str();
    if text.len() > 123 {
        let mut end = 123;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text = &text[..end];
    }
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(reason.code),
        reason: text.into(),
    }))
}

/// Ends a connection whose close frame is sent: half-closes it so the peer
/// sees the end, then reads and discards until the peer hangs up or
/// `timeout` passes. Closing a socket with unread input makes the kernel
/// send a reset, which can destroy the close frame before the peer reads
/// it; lingering avoids that without buffering what the peer still sends.
pub(crate) async fn linger(mut io: BoxIo, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, async {
        let _ = io.shutdown().await;
        let mut sink = [0u8; 4096];
        while matches!(io.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Reason text of a received close frame, with its code.
fn received_close(frame: Option<&CloseFrame>) -> CloseReason {
    match frame {
        Some(frame) => CloseReason::remote(u16::from(frame.code), frame.reason.as_str()),
        None => CloseReason::remote(close_code::NORMAL, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_get_tcp_keepalive_and_no_nagle_delay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        tune(&tcp, Some(Duration::from_secs(40)));
        let socket = socket2::SockRef::from(&tcp);
        assert!(socket.keepalive().unwrap());
        assert_eq!(
            socket.tcp_keepalive_time().unwrap(),
            Duration::from_secs(40)
        );
        assert_eq!(
            socket.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(10)
        );
        assert!(tcp.nodelay().unwrap());
    }
}
