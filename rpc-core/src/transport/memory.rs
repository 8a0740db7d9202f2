//! The in-memory transport: two ends joined by bounded channels, for tests
//! and for sessions inside one process. No socket, no reactor: a message is
//! handed over by a channel and wakes the other end directly, so sessions
//! over it run deterministically under `tokio::time::pause()`.
//!
//! It behaves as a WebSocket would where the session can tell: messages
//! over the receiver's size limit close it with 1009, a ping is answered
//! with a pong (pongs that find the channel full are coalesced, as RFC 6455
//! allows), a close is seen as the peer's, and a dropped end as a
//! connection lost without a close frame.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use bytes::Bytes;
use futures_util::{Sink, Stream, future::BoxFuture};
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

use super::{Outgoing, Received, Transport};
use crate::{
    error::{CloseReason, TransportError},
    protocol::close_code,
};

/// What travels between the two ends.
#[derive(Debug)]
enum Wire {
    Binary(Bytes),
    Ping,
    Pong,
    Close(u16, String),
}

/// One end of an in-memory connection.
#[derive(Debug)]
pub(crate) struct MemoryTransport {
    rx: mpsc::Receiver<Wire>,
    tx: PollSender<Wire>,
    /// For pongs, which are sent from the reading side without waiting.
    pong: mpsc::Sender<Wire>,
    max_message: usize,
}

/// Two connected ends; each refuses messages over its own `max_message`
/// (as the receiving side's limit), and each direction holds at most
/// `capacity` messages before the sender waits, as a socket's buffers would.
pub(crate) fn pair(
    capacity: usize,
    max_message: (usize, usize),
) -> (MemoryTransport, MemoryTransport) {
    let (a_tx, a_rx) = mpsc::channel(capacity);
    let (b_tx, b_rx) = mpsc::channel(capacity);
    let end = |rx, tx: mpsc::Sender<Wire>, max_message| MemoryTransport {
        rx,
        pong: tx.clone(),
        tx: PollSender::new(tx),
        max_message,
    };
    (
        end(a_rx, b_tx, max_message.0),
        end(b_rx, a_tx, max_message.1),
    )
}

fn gone() -> TransportError {
    TransportError::closed("the other end of the in-memory connection is gone")
}

impl Stream for MemoryTransport {
    type Item = Received;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Received>> {
        let received = match ready!(self.rx.poll_recv(cx)) {
            Some(Wire::Binary(bytes)) if bytes.len() > self.max_message => {
                Received::End(CloseReason::local(
                    close_code::TOO_BIG,
                    format!(
                        "message of {} bytes exceeds the limit of {} bytes",
                        bytes.len(),
                        self.max_message
                    ),
                ))
            }
            Some(Wire::Binary(bytes)) => Received::Binary(bytes),
            Some(Wire::Ping) => {
                let _ = self.pong.try_send(Wire::Pong);
                Received::Nothing
            }
            Some(Wire::Pong) => Received::Nothing,
            Some(Wire::Close(code, reason)) => Received::End(CloseReason::remote(code, reason)),
            None => Received::End(CloseReason::abnormal(
                "connection ended without a close frame",
            )),
        };
        Poll::Ready(Some(received))
    }
}

impl Sink<Outgoing> for MemoryTransport {
    type Error = TransportError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.tx.poll_reserve(cx).map_err(|_| gone())
    }

    fn start_send(mut self: Pin<&mut Self>, item: Outgoing) -> Result<(), Self::Error> {
        let wire = match item {
            Outgoing::Binary(bytes) => Wire::Binary(bytes),
            Outgoing::Ping => Wire::Ping,
            Outgoing::Close(reason) => Wire::Close(reason.code, reason.reason),
        };
        self.tx.send_item(wire).map_err(|_| gone())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Every message is with the other end once sent.
        Poll::Ready(Ok(()))
    }

    fn poll_close(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Result<(), Self::Error>> {
        self.tx.close();
        Poll::Ready(Ok(()))
    }
}

impl Transport for MemoryTransport {
    fn linger(mut self: Box<Self>, timeout: Duration) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            // Stop sending, then wait for the other end to go, reading what
            // it still sends, as a socket's linger does.
            self.tx.close();
            drop(self.pong);
            let _ =
                tokio::time::timeout(timeout, async { while self.rx.recv().await.is_some() {} })
                    .await;
        })
    }
}

#[cfg(test)]
mod tests {
    use futures_util::{SinkExt, StreamExt};

    use super::*;

    #[tokio::test]
    async fn messages_pings_and_closes_cross_as_on_a_websocket() {
        let (mut a, mut b) = pair(4, (1024, 8));
        a.send(Outgoing::Binary(Bytes::from_static(b"hi")))
            .await
            .unwrap();
        assert!(matches!(b.next().await, Some(Received::Binary(m)) if m == "hi"));

        a.send(Outgoing::Ping).await.unwrap();
        assert!(matches!(b.next().await, Some(Received::Nothing)));
        assert!(
            matches!(a.next().await, Some(Received::Nothing)),
            "the pong"
        );

        a.send(Outgoing::Binary(Bytes::from(vec![0; 9])))
            .await
            .unwrap();
        let Some(Received::End(reason)) = b.next().await else {
            panic!("a message over b's limit ends the connection");
        };
        assert_eq!((reason.code, reason.by_peer), (close_code::TOO_BIG, false));

        b.send(Outgoing::Close(CloseReason::local(
            close_code::NORMAL,
            "bye",
        )))
        .await
        .unwrap();
        let Some(Received::End(reason)) = a.next().await else {
            panic!("the close");
        };
        assert_eq!((reason.code, reason.by_peer), (close_code::NORMAL, true));
        assert_eq!(reason.reason, "bye");

        drop(b);
        let Some(Received::End(reason)) = a.next().await else {
            panic!("a dropped end");
        };
        assert_eq!(reason.code, close_code::ABNORMAL);
        assert!(a.send(Outgoing::Ping).await.is_err());
    }
}
