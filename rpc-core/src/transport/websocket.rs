//! The WebSocket transport: any byte stream becomes a tokio-tungstenite
//! WebSocket with limits taken from [`SessionConfig`]; what is read becomes
//! a frame or a close code (the same rules before and after the protocol
//! handshake), and a closing connection lingers until the peer hangs up.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use futures_util::{Sink, Stream, future::BoxFuture};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        self, Message,
        error::{CapacityError, ProtocolError},
        protocol::{CloseFrame, WebSocketConfig, frame::coding::CloseCode},
    },
};

use super::{Outgoing, Received, Transport};
use crate::{
    config::SessionConfig,
    error::{CloseReason, TransportError},
    protocol::close_code,
};

/// A byte stream a WebSocket can run over: TCP, TLS, an upgraded HTTP
/// connection, an in-memory pipe.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// A session's transport over tokio-tungstenite.
pub(crate) struct WsTransport<S> {
    ws: WebSocketStream<S>,
    /// A message the write buffer had no room for, sent before any other.
    waiting: Option<Message>,
}

impl<S: Io> WsTransport<S> {
    pub(crate) fn new(ws: WebSocketStream<S>) -> Self {
        Self { ws, waiting: None }
    }

    /// Sends the message the write buffer refused, flushing to make room:
    /// the buffer is bounded (see [`ws_config`]), and tungstenite hands a
    /// message back when pongs it queued fill it. Each retry waits for the
    /// peer to read, so this never spins.
    fn poll_waiting(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        while let Some(message) = self.waiting.take() {
            let mut ws = Pin::new(&mut self.ws);
            ready!(ws.as_mut().poll_ready(cx)).map_err(TransportError::websocket)?;
            match ws.as_mut().start_send(message) {
                Ok(()) => {}
                Err(tungstenite::Error::WriteBufferFull(full)) => {
                    self.waiting = Some(*full);
                    ready!(Pin::new(&mut self.ws).poll_flush(cx))
                        .map_err(TransportError::websocket)?;
                }
                Err(err) => return Poll::Ready(Err(TransportError::websocket(err))),
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: Io> Stream for WsTransport<S> {
    type Item = Received;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Received>> {
        let next = ready!(Pin::new(&mut self.ws).poll_next(cx));
        Poll::Ready(Some(received(next)))
    }
}

impl<S: Io> Sink<Outgoing> for WsTransport<S> {
    type Error = TransportError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        ready!(self.poll_waiting(cx))?;
        Pin::new(&mut self.ws)
            .poll_ready(cx)
            .map_err(TransportError::websocket)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Outgoing) -> Result<(), Self::Error> {
        let message = match item {
            Outgoing::Binary(bytes) => Message::Binary(bytes),
            Outgoing::Ping => Message::Ping(bytes::Bytes::new()),
            Outgoing::Close(reason) => close_message(&reason),
        };
        match Pin::new(&mut self.ws).start_send(message) {
            Err(tungstenite::Error::WriteBufferFull(full)) => {
                self.waiting = Some(*full);
                Ok(())
            }
            other => other.map_err(TransportError::websocket),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        ready!(self.poll_waiting(cx))?;
        Pin::new(&mut self.ws)
            .poll_flush(cx)
            .map_err(TransportError::websocket)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        ready!(self.poll_waiting(cx))?;
        Pin::new(&mut self.ws)
            .poll_close(cx)
            .map_err(TransportError::websocket)
    }
}

impl<S: Io> Transport for WsTransport<S> {
    fn linger(self: Box<Self>, timeout: Duration) -> BoxFuture<'static, ()> {
        Box::pin(linger(self.ws.into_inner(), timeout))
    }
}

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
/// buffer is flushed ([`WsTransport::poll_waiting`]).
pub(crate) fn ws_config(config: &SessionConfig) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(config.read_buffer_size)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(WRITE_BUFFER + config.fragment_size + WRITE_SLACK)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size))
}

/// Sorts one read from the WebSocket. The handshake and the session's reader
/// both use it, so a peer's input gets the same close code in every phase:
/// text 1003, invalid UTF-8 1007, oversize 1009, WebSocket violations 1002.
fn received(next: Option<Result<Message, tungstenite::Error>>) -> Received {
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
fn close_message(reason: &CloseReason) -> Message {
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
async fn linger<S: Io>(mut io: S, timeout: Duration) {
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

    #[test]
    fn a_close_reason_is_cut_to_123_bytes_on_a_character_boundary() {
        let reason = CloseReason::local(close_code::POLICY, "é".repeat(100));
        let Message::Close(Some(frame)) = close_message(&reason) else {
            panic!("a close message");
        };
        assert_eq!(u16::from(frame.code), close_code::POLICY);
        assert_eq!(frame.reason.len(), 122, "61 two-byte characters");
        assert!(frame.reason.chars().all(|c| c == 'é'));
    }

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
