//! The server of both `raw` loops: an accept loop, and per connection a
//! reader that answers each call in place and a writer task.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
    task::JoinHandle,
};
use tokio_tungstenite::tungstenite::Message;

use super::{QUEUE, Style, wire};
use crate::{
    error::BenchError,
    systems::{Running, ServeConfig, TICK},
};

/// Writers of the connections that subscribed.
#[derive(Debug, Default)]
struct Subscribers(Mutex<Vec<mpsc::Sender<Bytes>>>);

/// Aborts the accept loop when the server handle is dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the server of loop `S` (it takes every connection: `raw` has no
/// limits); it runs until the returned handle is dropped.
///
/// # Errors
///
/// When the listener cannot bind.
pub async fn serve<S: Style>(_config: ServeConfig) -> Result<Running, BenchError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let subscribers = Arc::new(Subscribers::default());
    let accept = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(connection::<S>(tcp, Arc::clone(&subscribers)));
        }
    });
    Ok(Running::new(addr, AbortOnDrop(accept)))
}

/// One connection. The reader's `next().await` yields only when no whole
/// frame is buffered or readable (or tokio's cooperative budget runs out),
/// so it answers every frame already readable before the writer, which the
/// first reply woke on this same worker, gets to run; a batching writer
/// then flushes all those replies at once.
async fn connection<S: Style>(tcp: TcpStream, subscribers: Arc<Subscribers>) {
    let _ = tcp.set_nodelay(true);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(S::config())).await else {
        return;
    };
    let (sink, mut stream) = ws.split();
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(S::write(sink, rx));
    while let Some(Ok(message)) = stream.next().await {
        let answered = match message {
            Message::Binary(bytes) => answer(&bytes, &tx, &subscribers).await,
            Message::Close(_) => return,
            _ => Ok(()),
        };
        if answered.is_err() {
            return;
        }
    }
}

/// Runs one call and queues its reply.
async fn answer(
    message: &[u8],
    tx: &mpsc::Sender<Bytes>,
    subscribers: &Subscribers,
) -> Result<(), BenchError> {
    let wire::Frame::Call { id, method, args } = wire::decode(message)? else {
        return Err(BenchError::Unexpected("raw server takes calls only".into()));
    };
    let reply = match method {
        "add" => {
            let (a, b): (i64, i64) = postcard::from_bytes(args)?;
            wire::reply(id, &(a + b))?
        }
        "echo" => {
            let (text,): (String,) = postcard::from_bytes(args)?;
            wire::reply(id, &text)?
        }
        "subscribe" => {
            subscribers
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(tx.clone());
            wire::reply(id, &())?
        }
        "broadcast" => {
            let (round,): (u64,) = postcard::from_bytes(args)?;
            // Encoded once; the same bytes go to every connection.
            let frame = wire::notify(TICK, &round)?;
            let writers = subscribers
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let mut sent = 0u64;
            for writer in &writers {
                if writer.send(frame.clone()).await.is_ok() {
                    sent += 1;
                }
            }
            wire::reply(id, &sent)?
        }
        other => return Err(BenchError::Unexpected(format!("no method named `{other}`"))),
    };
    tx.send(reply)
        .await
        .map_err(|_| BenchError::Unexpected("writer gone".into()))
}
