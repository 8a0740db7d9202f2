//! A hand-driven WebSocket client: performs the upgrade and (optionally) the
//! protocol handshake, then sends arbitrary messages or raw bytes.
//!
//! `rpc::testing::FakePeer` and `FakeServer` are the public kit for most of
//! this; what stays here is what they leave out on purpose: the raw
//! tungstenite stream (pongs, write errors a flood expects), frames
//! encoded without the codec's bounds, hellos with chosen versions.

use bytes::Bytes;
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

/// Limits of a peer that accepts anything: the server's answers are never
/// cut or refused on its account.
pub const UNLIMITED: Limits = Limits {
    max_message_size: u32::MAX,
    max_in_flight: 1024,
    max_reassembly: u32::MAX,
    max_partials: 16,
};

/// Upgrades and performs the protocol handshake.
pub async fn handshaken(addr: std::net::SocketAddr) -> RawWs {
    handshaken_with(addr, UNLIMITED).await
}

/// Upgrades and performs the protocol handshake, announcing `limits`.
pub async fn handshaken_with(addr: std::net::SocketAddr, limits: Limits) -> RawWs {
    let mut ws = upgrade(addr).await;
    ws.send(Message::Binary(hello(
        PROTOCOL_VERSION,
        PROTOCOL_VERSION,
        limits,
    )))
    .await
    .expect("send hello");
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
    let hello = hello(min_version, max_version, UNLIMITED);
    ws.send(Message::Binary(hello)).await.expect("send hello");
}

/// An encoded `Hello` frame.
pub fn hello(min_version: u16, max_version: u16, limits: Limits) -> Bytes {
    let hello = Frame::Hello(Hello {
        min_version,
        max_version,
        features: Vec::new(),
        limits,
    });
    codec::encode(&hello).expect("hello encodes")
}

/// The next binary message, past any ping or pong.
pub async fn next_binary(ws: &mut RawWs) -> Bytes {
    loop {
        match super::within("a message", ws.next()).await {
            Some(Ok(Message::Binary(bytes))) => return bytes,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a binary message, got {other:?}"),
        }
    }
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
    frame(0x80 | opcode, payload)
}

/// A masked client WebSocket frame whose first byte (FIN, RSV bits, opcode)
/// is `first`, carrying `payload`.
pub fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let len = u64::try_from(payload.len()).expect("payload length fits u64");
    [header(first, len), payload.to_vec()].concat()
}

/// The header of a masked client WebSocket frame announcing `len` payload
/// bytes, in the shortest length encoding, with a zero mask (so the payload
/// goes unchanged).
pub fn header(first: u8, len: u64) -> Vec<u8> {
    let mut header = vec![first];
    match len {
        0..=125 => header.push(0x80 | u8::try_from(len).expect("under 126")),
        126..=0xFFFF => {
            header.push(0x80 | 0x7E);
            header.extend_from_slice(&u16::try_from(len).expect("under 2^16").to_be_bytes());
        }
        _ => {
            header.push(0x80 | 0x7F);
            header.extend_from_slice(&len.to_be_bytes());
        }
    }
    header.extend_from_slice(&[0; 4]);
    header
}

/// Sends a call of `method` with `()` as arguments.
pub async fn send_call(ws: &mut RawWs, id: u64, method: &str) {
    let call = Frame::Call(rpc::protocol::Call {
        id,
        method,
        headers: Vec::new(),
    });
    let bytes = codec::encode_with(&call, &()).expect("call encodes");
    ws.send(Message::Binary(bytes)).await.expect("send call");
}

/// The header of an unmasked server WebSocket frame announcing `len`
/// payload bytes, in the shortest length encoding: what a fake server
/// writes with [`write_raw`] to lie about a frame's length.
pub fn server_header(first: u8, len: u64) -> Vec<u8> {
    let mut header = vec![first];
    match len {
        0..=125 => header.push(u8::try_from(len).expect("under 126")),
        126..=0xFFFF => {
            header.push(0x7E);
            header.extend_from_slice(&u16::try_from(len).expect("under 2^16").to_be_bytes());
        }
        _ => {
            header.push(0x7F);
            header.extend_from_slice(&len.to_be_bytes());
        }
    }
    header
}
