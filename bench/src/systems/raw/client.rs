//! The client of both `raw` loops: calls register a oneshot in a map by id,
//! the writer task sends them, the reader task completes them.

use std::{
    collections::HashMap,
    marker::PhantomData,
    net::SocketAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Serialize, de::DeserializeOwned};
use tokio::{
    net::TcpStream,
    sync::{mpsc, oneshot},
};
use tokio_tungstenite::{WebSocketStream, tungstenite::Message};

use super::{QUEUE, Style, wire};
use crate::{
    error::BenchError,
    systems::{BenchClient, Probe},
};

/// Waiting callers by call id.
type Pending = Mutex<HashMap<u64, oneshot::Sender<Bytes>>>;

/// A client connection of the loop `S`.
#[derive(Debug)]
pub struct Client<S> {
    tx: mpsc::Sender<Bytes>,
    pending: Arc<Pending>,
    next_id: AtomicU64,
    style: PhantomData<fn() -> S>,
}

impl<S> Client<S> {
    async fn call<A, R>(&self, method: &str, args: &A) -> Result<R, BenchError>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = wire::call(id, method, args)?;
        let (answer, answered) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, answer);
        let closed = || BenchError::Unexpected("raw connection closed".into());
        self.tx.send(frame).await.map_err(|_| closed())?;
        let payload = answered.await.map_err(|_| closed())?;
        Ok(postcard::from_bytes(&payload)?)
    }
}

async fn read_loop(
    mut stream: futures_util::stream::SplitStream<WebSocketStream<TcpStream>>,
    pending: Arc<Pending>,
    probe: Option<Arc<Probe>>,
) {
    while let Some(Ok(message)) = stream.next().await {
        let Message::Binary(bytes) = message else {
            continue;
        };
        match wire::decode(&bytes) {
            Ok(wire::Frame::Reply { id, payload }) => {
                let waiting = pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&id);
                if let Some(answer) = waiting {
                    let _ = answer.send(bytes.slice_ref(payload));
                }
            }
            Ok(wire::Frame::Notify { payload, .. }) => {
                if let (Some(probe), Ok(round)) = (&probe, postcard::from_bytes::<u64>(payload)) {
                    probe.record(round);
                }
            }
            _ => break,
        }
    }
    // Waiting callers see the connection end.
    pending
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
}

impl<S: Style> BenchClient for Client<S> {
    async fn connect(addr: SocketAddr, probe: Option<Arc<Probe>>) -> Result<Self, BenchError> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (ws, _response) = tokio_tungstenite::client_async_with_config(
            format!("ws://{addr}/"),
            tcp,
            Some(S::config()),
        )
        .await?;
        let (sink, stream) = ws.split();
        let (tx, rx) = mpsc::channel(QUEUE);
        let pending = Arc::new(Pending::default());
        tokio::spawn(S::write(sink, rx));
        tokio::spawn(read_loop(stream, Arc::clone(&pending), probe));
        Ok(Self {
            tx,
            pending,
            next_id: AtomicU64::new(1),
            style: PhantomData,
        })
    }

    async fn add(&self, a: i64, b: i64) -> Result<i64, BenchError> {
        self.call("add", &(a, b)).await
    }

    async fn echo(&self, text: &str) -> Result<String, BenchError> {
        self.call("echo", &(text,)).await
    }

    async fn subscribe(&self) -> Result<(), BenchError> {
        self.call("subscribe", &()).await
    }

    async fn broadcast(&self, round: u64) -> Result<u64, BenchError> {
        self.call("broadcast", &(round,)).await
    }
}
