//! `raw`: the least code that carries the same postcard frames as `rpc` over
//! tokio-tungstenite, with the same pending-call bookkeeping (a map of
//! waiting callers by id, a oneshot per call), one reader task and one
//! writer task per connection, and nothing else: no handshake, no limits,
//! no timeouts, no task per call (the server answers in its reader), and a
//! writer that sends and flushes one message at a time. Tungstenite's
//! default configuration; `TCP_NODELAY` on both ends, as `rpc` and
//! jsonrpsee set it.

mod client;
mod server;
pub mod wire;

pub use client::RawClient;
pub use server::serve;

use bytes::Bytes;
use futures_util::{SinkExt, stream::SplitSink};
use tokio::{net::TcpStream, sync::mpsc};
use tokio_tungstenite::{WebSocketStream, tungstenite::Message};

/// Messages queued for a connection's writer before senders wait.
const QUEUE: usize = 1024;

/// The naive writer loop: one message, one flush.
async fn write_loop(
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
