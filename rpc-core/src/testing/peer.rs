//! [`FakePeer`]: one WebSocket connection whose every message the test
//! writes and reads by hand, on either side of a connection.

use std::{fmt, future::Future, net::SocketAddr, time::Duration};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::{Serialize, de::DeserializeOwned};
use tokio::{io::AsyncWriteExt, net::TcpStream};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        Message,
        protocol::{CloseFrame, WebSocketConfig, frame::coding::CloseCode},
    },
};

use super::PATIENCE;
use crate::{
    codec,
    error::CloseReason,
    protocol::{
        Call, ErrorCode, ErrorFrame, Frame, Hello, Limits, PROTOCOL_VERSION, Reply, Welcome,
    },
};

/// Which end of the connection a fake is: a client masks its frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    Client,
    Server,
}

/// A scripted peer: one WebSocket connection to the library, driven by
/// the test message by message.
///
/// It sends what a test tells it to (typed frames, messages that are not
/// frames, text, raw socket bytes, a close frame, a dropped connection)
/// and asserts what it receives. [`connect`](Self::connect) makes it a
/// client of a real server; [`FakeServer::accept`](super::FakeServer::accept)
/// makes it the server of a real client. Pings and pongs are answered and
/// skipped, as a WebSocket library does.
///
/// # Panics
///
/// Every method is an assertion: a connection that fails, a message that
/// is not the one expected, or nothing within the [patience](Self::patience)
/// panics with a message naming what was expected and what arrived.
///
/// ```no_run
/// # extern crate rpc_core as rpc;
/// use rpc::{protocol::{ErrorCode, close_code}, testing::{FakePeer, TestServer}};
///
/// # async fn example(server: TestServer) {
/// let mut peer = FakePeer::connect(server.addr()).await;
/// peer.call(1, "no.such.method", &()).await;
/// assert_eq!(peer.expect_error(1).await.0, ErrorCode::UNKNOWN_METHOD);
///
/// // Bytes that are no frame: the server closes with 1002.
/// peer.send_raw(vec![0xff, 0xff]).await;
/// let closed = peer.closed().await;
/// assert_eq!(closed.code, close_code::PROTOCOL);
/// # }
/// ```
pub struct FakePeer {
    ws: WebSocketStream<TcpStream>,
    end: End,
    patience: Duration,
    hello: Option<Hello>,
    welcome: Option<Welcome>,
}

impl fmt::Debug for FakePeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakePeer")
            .field("end", &self.end)
            .field("patience", &self.patience)
            .field("hello", &self.hello)
            .field("welcome", &self.welcome)
            .finish_non_exhaustive()
    }
}

/// The WebSocket settings of a fake: it takes messages of any size, so
/// that it can tell what the library sent rather than refuse it.
pub(super) fn unlimited() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None)
}

impl FakePeer {
    /// Limits a fake client announces by default: it accepts anything, so
    /// the server never cuts or refuses an answer on its account.
    pub const UNLIMITED: Limits = Limits {
        max_message_size: u32::MAX,
        max_in_flight: 1024,
        max_reassembly: u32::MAX,
        max_partials: 16,
    };

    /// Connects to the server at `addr` and upgrades to WebSocket, without
    /// the protocol handshake: the test sends its own `Hello`, or none.
    ///
    /// # Panics
    ///
    /// When the connection or the upgrade fails.
    pub async fn upgrade(addr: SocketAddr) -> Self {
        let ws = within(PATIENCE, "the WebSocket upgrade", async {
            let tcp = TcpStream::connect(addr)
                .await
                .unwrap_or_else(|err| panic!("fake peer: cannot connect to {addr}: {err}"));
            tokio_tungstenite::client_async_with_config(
                format!("ws://{addr}/"),
                tcp,
                Some(unlimited()),
            )
            .await
            .unwrap_or_else(|err| panic!("fake peer: the upgrade at {addr} failed: {err}"))
            .0
        })
        .await;
        Self::new(ws, End::Client)
    }

    /// Connects to the server at `addr` and performs the protocol
    /// handshake, announcing [`UNLIMITED`](Self::UNLIMITED) limits.
    ///
    /// # Panics
    ///
    /// As [`upgrade`](Self::upgrade) and [`handshake`](Self::handshake).
    pub async fn connect(addr: SocketAddr) -> Self {
        let mut peer = Self::upgrade(addr).await;
        peer.handshake(Self::UNLIMITED).await;
        peer
    }

    /// Sends a `Hello` for this build's protocol version announcing
    /// `limits`, and expects the server's `Welcome`, which it returns (and
    /// keeps: [`welcome`](Self::welcome)).
    ///
    /// # Panics
    ///
    /// When the server answers anything but a `Welcome`.
    pub async fn handshake(&mut self, limits: Limits) -> Welcome {
        let hello = Hello {
            min_version: PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
            features: Vec::new(),
            limits,
        };
        self.send(&Frame::Hello(hello), &()).await;
        let received = self.expect_frame().await;
        let Frame::Welcome(welcome) = received.frame() else {
            self.fail("a welcome", &received);
        };
        self.welcome = Some(welcome.clone());
        welcome
    }

    /// A fake over an upgraded connection.
    pub(super) fn new(ws: WebSocketStream<TcpStream>, end: End) -> Self {
        Self {
            ws,
            end,
            patience: PATIENCE,
            hello: None,
            welcome: None,
        }
    }

    /// Records the `Hello` a fake server read in its handshake.
    pub(super) fn with_hello(mut self, hello: Hello) -> Self {
        self.hello = Some(hello);
        self
    }

    /// How long each `expect_*` and [`closed`](Self::closed) waits before
    /// it fails the test; [`PATIENCE`] by default.
    pub fn patience(mut self, patience: Duration) -> Self {
        self.patience = patience;
        self
    }

    /// The `Hello` the client sent, on a fake server's side of a
    /// handshake.
    pub fn hello(&self) -> Option<&Hello> {
        self.hello.as_ref()
    }

    /// The `Welcome` the server sent, on a fake client's side of a
    /// handshake.
    pub fn welcome(&self) -> Option<&Welcome> {
        self.welcome.as_ref()
    }

    // ---- Sending ----

    /// Sends `frame` followed by the postcard encoding of `payload` (`&()`
    /// for a frame kind without one), as one binary message.
    ///
    /// # Panics
    ///
    /// When the frame breaks a protocol bound (build such bytes by hand and
    /// [`send_raw`](Self::send_raw) them), or the connection is gone.
    pub async fn send<T: Serialize + ?Sized>(&mut self, frame: &Frame<'_>, payload: &T) {
        let message = codec::encode_with(frame, payload).unwrap_or_else(|err| {
            panic!(
                "fake peer: the {} frame does not encode: {err}",
                frame.kind()
            )
        });
        self.send_raw(message).await;
    }

    /// Sends `message` as one binary message, whatever it holds: a
    /// malformed frame, a frame [`codec::encode_raw`] built around an
    /// encoded payload, a fragment.
    ///
    /// # Panics
    ///
    /// When the connection is gone.
    pub async fn send_raw(&mut self, message: impl Into<Bytes>) {
        self.send_message(Message::Binary(message.into())).await;
    }

    /// Sends a text message, which the protocol does not allow.
    ///
    /// # Panics
    ///
    /// When the connection is gone.
    pub async fn send_text(&mut self, text: &str) {
        self.send_message(Message::Text(text.into())).await;
    }

    /// Writes `bytes` to the socket under the WebSocket layer: frames a
    /// WebSocket library refuses to send, headers that lie about a length.
    ///
    /// # Panics
    ///
    /// When the connection is gone.
    pub async fn write_socket(&mut self, bytes: &[u8]) {
        let written = async {
            self.ws.get_mut().write_all(bytes).await?;
            self.ws.get_mut().flush().await
        };
        written
            .await
            .unwrap_or_else(|err| panic!("fake peer: the socket write failed: {err}"));
    }

    /// Writes the header of a WebSocket frame whose first byte (FIN, the
    /// reserved bits, the opcode) is `first` and which announces `len`
    /// payload bytes, in the shortest length encoding; masked with a zero
    /// mask on a client's side, so that the payload is written as it is
    /// with [`write_socket`](Self::write_socket), and none of it need
    /// follow.
    ///
    /// # Panics
    ///
    /// When the connection is gone.
    pub async fn write_header(&mut self, first: u8, len: u64) {
        let header = frame_header(first, len, self.end == End::Client);
        self.write_socket(&header).await;
    }

    /// Sends a call of `method` with id `id` and `args` (by convention a
    /// tuple of the method's parameters) and no headers.
    ///
    /// # Panics
    ///
    /// As [`send`](Self::send).
    pub async fn call<A: Serialize + ?Sized>(&mut self, id: u64, method: &str, args: &A) {
        let call = Call {
            id,
            method,
            headers: Vec::new(),
        };
        self.send(&Frame::Call(call), args).await;
    }

    /// Answers call `id` with `value`.
    ///
    /// # Panics
    ///
    /// As [`send`](Self::send).
    pub async fn reply<T: Serialize + ?Sized>(&mut self, id: u64, value: &T) {
        self.send(&Frame::Reply(Reply { id }), value).await;
    }

    /// Answers call `id` with an error of `code` and `message`, without
    /// data.
    ///
    /// # Panics
    ///
    /// As [`send`](Self::send).
    pub async fn error(&mut self, id: u64, code: ErrorCode, message: &str) {
        let error = ErrorFrame { id, code, message };
        self.send(&Frame::Error(error), &()).await;
    }

    /// Sends a close frame with `code` and `reason`; the library's answer
    /// is read with [`closed`](Self::closed). A failure to send is ignored:
    /// the connection is ending either way.
    pub async fn close(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_owned().into(),
        };
        let _ = self.ws.close(Some(frame)).await;
    }

    /// Drops the connection without a close frame, as a crashed process
    /// would: the library sees the connection lost (1006).
    pub fn disconnect(self) {
        drop(self);
    }

    /// Resets the connection (TCP RST rather than FIN): the peer vanishes
    /// mid-conversation, in the middle of a frame if one was half written.
    pub fn reset(self) {
        let tcp = self.ws.into_inner();
        // Without SO_LINGER the drop below is still a FIN; the test sees
        // a lost connection either way.
        let _ = tcp.set_zero_linger();
        drop(tcp);
    }

    async fn send_message(&mut self, message: Message) {
        self.ws
            .send(message)
            .await
            .unwrap_or_else(|err| panic!("fake peer: the send failed: {err}"));
    }

    // ---- Receiving ----

    /// The next frame the library sends, past pings and pongs.
    ///
    /// # Panics
    ///
    /// When nothing comes within the patience, or what comes is not a
    /// binary message holding a frame (a close frame, text, a lost
    /// connection).
    pub async fn expect_frame(&mut self) -> Received {
        let patience = self.patience;
        let message = within(patience, "a frame", async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Binary(bytes))) => return Ok(bytes),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    other => return Err(describe(other)),
                }
            }
        })
        .await
        .unwrap_or_else(|got| self.fail("a frame", &got));
        match codec::decode(&message, usize::MAX) {
            Ok(_) => Received { message },
            Err(err) => self.fail(
                "a frame",
                &format!("{message:?}, which does not decode: {err}"),
            ),
        }
    }

    /// Expects a call of `method`; returns its id and its encoded
    /// arguments ([`codec::decode_value`] reads them).
    ///
    /// # Panics
    ///
    /// As [`expect_frame`](Self::expect_frame), and when the frame is not a
    /// call of `method`.
    pub async fn expect_call(&mut self, method: &str) -> (u64, Bytes) {
        let received = self.expect_frame().await;
        match received.frame() {
            Frame::Call(call) if call.method == method => (call.id, received.payload()),
            _ => self.fail(&format!("a call of `{method}`"), &received),
        }
    }

    /// Expects the answer to call `id`, a value of type `T`.
    ///
    /// # Panics
    ///
    /// As [`expect_frame`](Self::expect_frame), and when the frame is not a
    /// reply to `id` (an error, for one) or its value is not a `T`.
    pub async fn expect_reply<T: DeserializeOwned>(&mut self, id: u64) -> T {
        let received = self.expect_frame().await;
        match received.frame() {
            Frame::Reply(reply) if reply.id == id => received.value(),
            _ => self.fail(&format!("the reply to call {id}"), &received),
        }
    }

    /// Expects an error answering call `id` (0: an error about no call, a
    /// refused cast or push); returns its code and message.
    ///
    /// # Panics
    ///
    /// As [`expect_frame`](Self::expect_frame), and when the frame is not
    /// an error for `id`.
    pub async fn expect_error(&mut self, id: u64) -> (ErrorCode, String) {
        let received = self.expect_frame().await;
        match received.frame() {
            Frame::Error(error) if error.id == id => (error.code, error.message.to_owned()),
            _ => self.fail(&format!("an error for call {id}"), &received),
        }
    }

    /// Waits for the library's close frame and returns its code and
    /// reason (`by_peer` is set: the library closed, not the fake).
    /// Messages before it are skipped.
    ///
    /// # Panics
    ///
    /// When no close frame comes within the patience, the connection ends
    /// without one, or it carries no code.
    pub async fn closed(&mut self) -> CloseReason {
        let patience = self.patience;
        let closed = within(patience, "a close frame", async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Close(Some(frame)))) => {
                        return Ok(CloseReason::remote(
                            u16::from(frame.code),
                            frame.reason.as_str(),
                        ));
                    }
                    Some(Ok(Message::Close(None)) | Err(_)) | None => return Err(()),
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        closed.unwrap_or_else(|()| {
            panic!(
                "fake peer: expected a close frame with a code, the connection ended without one"
            )
        })
    }

    fn fail(&self, expected: &str, got: &dyn fmt::Debug) -> ! {
        panic!(
            "fake peer ({:?} side): expected {expected}, received {got:?}",
            self.end
        )
    }
}

/// What arrived instead of a binary message, for a failure message.
fn describe(got: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> String {
    match got {
        Some(Ok(Message::Close(Some(frame)))) => {
            format!("a close frame {}: {}", u16::from(frame.code), frame.reason)
        }
        Some(Ok(Message::Close(None))) => "a close frame without a code".to_owned(),
        Some(Ok(Message::Text(text))) => format!("a text message {:?}", text.as_str()),
        Some(Ok(other)) => format!("{other:?}"),
        Some(Err(err)) => format!("a failed connection: {err}"),
        None => "the end of the connection".to_owned(),
    }
}

/// `future`, or a panic naming `what` when it takes longer than `patience`.
async fn within<T>(patience: Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(patience, future)
        .await
        .unwrap_or_else(|_| panic!("fake peer: expected {what}, nothing came within {patience:?}"))
}

/// The header of a WebSocket frame announcing `len` payload bytes, in the
/// shortest length encoding; `masked` with a zero mask, so that the
/// payload goes unchanged.
fn frame_header(first: u8, len: u64, masked: bool) -> Vec<u8> {
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut header = vec![first];
    match (u8::try_from(len), u16::try_from(len)) {
        (Ok(short @ 0..=125), _) => header.push(mask_bit | short),
        (_, Ok(medium)) => {
            header.push(mask_bit | 0x7E);
            header.extend_from_slice(&medium.to_be_bytes());
        }
        _ => {
            header.push(mask_bit | 0x7F);
            header.extend_from_slice(&len.to_be_bytes());
        }
    }
    if masked {
        header.extend_from_slice(&[0; 4]);
    }
    header
}

/// A frame a fake received: the message, decoded on demand.
#[derive(Clone)]
pub struct Received {
    /// A message known to decode.
    message: Bytes,
}

impl fmt::Debug for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Received")
            .field("frame", &self.frame())
            .field("payload", &self.payload())
            .finish()
    }
}

impl Received {
    /// The frame header, borrowing its strings from the message.
    ///
    /// # Panics
    ///
    /// Never: the message decoded when it arrived.
    pub fn frame(&self) -> Frame<'_> {
        codec::decode(&self.message, usize::MAX)
            .expect("the message decoded when it arrived")
            .frame
    }

    /// The payload after the header (empty for a kind without one).
    ///
    /// # Panics
    ///
    /// Never: the message decoded when it arrived.
    pub fn payload(&self) -> Bytes {
        codec::decode(&self.message, usize::MAX)
            .expect("the message decoded when it arrived")
            .payload
    }

    /// The payload decoded as a `T`.
    ///
    /// # Panics
    ///
    /// When it is not one.
    pub fn value<T: DeserializeOwned>(&self) -> T {
        codec::decode_value(&self.payload()).unwrap_or_else(|err| {
            panic!(
                "fake peer: the payload of {:?} is not a {}: {err}",
                self.frame(),
                std::any::type_name::<T>()
            )
        })
    }

    /// The whole message, header and payload.
    pub fn message(&self) -> &Bytes {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::frame_header;

    #[test]
    fn headers_take_the_shortest_length_encoding_and_mask_on_the_client_side() {
        assert_eq!(frame_header(0x82, 5, false), [0x82, 5]);
        assert_eq!(frame_header(0x82, 5, true), [0x82, 0x85, 0, 0, 0, 0]);
        assert_eq!(frame_header(0x82, 126, false), [0x82, 126, 0, 126]);
        assert_eq!(
            frame_header(0x82, 1 << 16, false),
            [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]
        );
    }
}
