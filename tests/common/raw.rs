//! A hand-driven WebSocket client: performs the upgrade and (optionally) the
//! protocol handshake, then sends arbitrary messages or raw bytes.

use futures_util::{SinkExt, StreamExt};
use rpc::{
    codec,
    protocol::{Frame, Hello, Limits, PROTOCOL_VERSION},
};
use tokio::{io::AsyncWriteExt, net::TcpStream};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{Message, protocol::WebSocketConfig},
};

pub type RawWs = WebSocketStream<TcpStream>;

/// Upgrades to WebSocket without the protocol handshake.
pub async fn upgrade(addr: std::net::SocketAddr) -> RawWs {
    let tcp = TcpStream::connect(addr).await.expect("tcp connect");
    let config = WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(format!("ws://{addr}/"), tcp, Some(config))
            .await
            .expect("websocket upgrade");
    ws
}

/// Upgrades and performs the protocol handshake.
pub async fn handshaken(addr: std::net::SocketAddr) -> RawWs {
    let mut ws = upgrade(addr).await;
    send_hello(&mut ws, PROTOCOL_VERSION, PROTOCOL_VERSION).await;
    match ws.next().await {
        Some(Ok(Message::Binary(bytes))) => {
            let decoded = codec::decode(&bytes, usize::MAX).expect("welcome decodes");
            assert!(
                matches!(decoded.frame, Frame::Welcome(_)),
                "expected welcome, got {:?}",
                decoded.frame
            );
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    ws
}

pub async fn send_hello(ws: &mut RawWs, min_version: u16, max_version: u16) {
    send_hello_on(ws, min_version, max_version).await;
}

/// [`send_hello`] on any WebSocket.
pub async fn send_hello_on<S>(ws: &mut WebSocketStream<S>, min_version: u16, max_version: u16)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let hello = Frame::Hello(Hello {
        min_version,
        max_version,
        features: Vec::new(),
        limits: Limits {
            max_message_size: u32::MAX,
            max_in_flight: 1024,
            max_reassembly: u32::MAX,
            max_partials: 16,
        },
    });
    let bytes = codec::encode(&hello).expect("hello encodes");
    ws.send(Message::Binary(bytes)).await.expect("send hello");
}

/// Writes bytes straight to the socket, bypassing WebSocket framing.
pub async fn write_raw(ws: &mut RawWs, bytes: &[u8]) {
    ws.get_mut().write_all(bytes).await.expect("raw write");
}

/// Reads until the server's close frame; returns its code and reason.
/// Messages before it are skipped.
pub async fn expect_close(ws: &mut RawWs) -> (u16, String) {
    while let Some(message) = ws.next().await {
        match message {
            Ok(Message::Close(Some(frame))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Ok(Message::Close(None)) => panic!("close frame without a code"),
            Ok(_) => {}
            Err(err) => panic!("connection failed before a close frame: {err}"),
        }
    }
    panic!("connection ended without a close frame")
}

/// Connects, completes the handshake, sends `message`, and returns the
/// code and reason of the close frame the server answers with.
pub async fn close_after(addr: std::net::SocketAddr, message: Message) -> (u16, String) {
    let mut ws = handshaken(addr).await;
    ws.send(message).await.expect("send");
    super::within("close", expect_close(&mut ws)).await
}

/// A client WebSocket frame built by hand (FIN set, zero mask), for payloads
/// a WebSocket library refuses to send, such as text that is not UTF-8.
pub fn masked_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let len = u8::try_from(payload.len())
        .ok()
        .filter(|len| *len < 126)
        .expect("short payloads only");
    [&[0x80 | opcode, 0x80 | len, 0, 0, 0, 0][..], payload].concat()
}
