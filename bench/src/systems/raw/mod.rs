//! The two hand-written loops. Both carry the same postcard frames as `rpc`
//! over tokio-tungstenite with the same pending-call bookkeeping (a map of
//! waiting callers by id, a oneshot per call), one reader task and one
//! writer task per connection, and nothing else: no handshake, no limits,
//! no timeouts, no task per call (the server answers in its reader, which
//! handles every frame already readable before it yields). `TCP_NODELAY`
//! on both ends, as `rpc` and jsonrpsee set it. They differ in how they
//! write and read:
//!
//! - [`Batching`] (`raw`, the baseline): the writer takes everything
//!   queued, feeds it all to the socket's write buffer, then flushes once;
//!   4 KiB read buffers. The best loop we can write on this stack.
//! - [`Naive`] (`raw-naive`): the writer sends and flushes one message at a
//!   time; tungstenite's default 128 KiB read buffers.

mod client;
mod server;
pub mod wire;

pub use client::Client;
pub use server::serve;

use bytes::Bytes;
use futures_util::{SinkExt, stream::SplitSink};
use tokio::{net::TcpStream, sync::mpsc};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{Message, protocol::WebSocketConfig},
};

/// The `raw` client: the batching loop.
pub type RawClient = Client<Batching>;

/// The `raw-naive` client: a flush per message.
pub type RawNaiveClient = Client<Naive>;

/// Messages queued for a connection's writer before senders wait; also the
/// most one batch takes.
const QUEUE: usize = 1024;

/// How a loop writes and reads; the same on its client and server side.
pub trait Style: Send + Sync + 'static {
    /// The WebSocket configuration of both ends.
    fn config() -> WebSocketConfig;

    /// The writer task of a connection: writes what `rx` yields until every
    /// sender is gone or the socket fails.
    fn write(
        sink: SplitSink<WebSocketStream<TcpStream>, Message>,
        rx: mpsc::Receiver<Bytes>,
    ) -> impl Future<Output = ()> + Send;
}

/// Writers that flush once per batch; 4 KiB read buffers.
#[derive(Debug)]
pub enum Batching {}

/// Read buffer of the batching loop: what `rpc` would need to stay small
/// per idle connection.
const BATCHING_READ_BUFFER: usize = 4 << 10;

impl Style for Batching {
    fn config() -> WebSocketConfig {
        WebSocketConfig::default().read_buffer_size(BATCHING_READ_BUFFER)
    }

    async fn write(
        mut sink: SplitSink<WebSocketStream<TcpStream>, Message>,
        mut rx: mpsc::Receiver<Bytes>,
    ) {
        let mut batch = Vec::with_capacity(QUEUE);
        while rx.recv_many(&mut batch, QUEUE).await > 0 {
            // `feed` only appends to tungstenite's write buffer (it writes
            // to the socket once 128 KiB are buffered); `flush` writes the
            // rest in one go.
            for frame in batch.drain(..) {
                if sink.feed(Message::Binary(frame)).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    }
}

/// Writers that send and flush one message at a time; tungstenite's
/// default configuration (128 KiB read buffers).
#[derive(Debug)]
pub enum Naive {}

impl Style for Naive {
    fn config() -> WebSocketConfig {
        WebSocketConfig::default()
    }

    async fn write(
        mut sink: SplitSink<WebSocketStream<TcpStream>, Message>,
        mut rx: mpsc::Receiver<Bytes>,
    ) {
        while let Some(frame) = rx.recv().await {
            if sink.send(Message::Binary(frame)).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    }
}
