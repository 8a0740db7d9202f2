//! [`Subscription`]: a server stream that a reconnecting client opens again
//! on every new connection, with a [`Delivery::Gap`] marker where items may
//! have been lost.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use futures_util::{Stream, StreamExt};
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::mpsc;

use super::ReconnectingClient;
use crate::{
    error::Error,
    stream::{StreamError, StreamOptions},
};

/// One delivery of a [`Subscription`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery<T> {
    /// An item of the stream.
    Item(T),
    /// The connection dropped and the stream was opened again on a new
    /// one: items the server sent in between are lost, so the application
    /// should fetch what it may have missed (a snapshot, or items since the
    /// last it saw).
    Gap,
}

/// A server stream that survives reconnects, from
/// [`ReconnectingClient::subscribe`]. Yields [`Delivery::Item`]s, a
/// [`Delivery::Gap`] each time it was opened again after a lost
/// connection, and ends when the server ends the stream (`None`) or fails
/// it (an error, then `None`). Dropping it cancels the stream.
#[derive(Debug)]
pub struct Subscription<T> {
    rx: mpsc::Receiver<Result<Delivery<T>, Error>>,
}

impl<T> Stream for Subscription<T> {
    type Item = Result<Delivery<T>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl ReconnectingClient {
    /// Opens the server stream `method` with `args` now, or on the next
    /// connection, and again on every connection after a drop, until the
    /// server ends it or the subscription is dropped. Items pass through a
    /// queue of `options.window` (default: the session's stream window), so
    /// a slow reader slows the server down as a plain stream does.
    ///
    /// The subscription holds the client open while it lives, as a stub
    /// does; [`close`](Self::close) ends it with [`Error::Closed`].
    pub fn subscribe<A, T>(&self, method: &str, args: A, options: StreamOptions) -> Subscription<T>
    where
        A: Serialize + Send + Sync + 'static,
        T: DeserializeOwned + Send + 'static,
    {
        let window = options.window.unwrap_or(32).max(1);
        let (tx, rx) = mpsc::channel(usize::try_from(window).unwrap_or(usize::MAX));
        let client = self.clone();
        let method = method.to_owned();
        // Not on the client's tracker: `close` must not wait for a reader
        // that stopped reading.
        tokio::spawn(async move {
            tokio::select! {
                () = tx.closed() => {}
                () = follow(&client, &method, &args, options, &tx) => {}
                () = client.shared.stop.cancelled() => {
                    let _ = tx.try_send(Err(Error::Closed(super::closed_by_user())));
                }
            }
        });
        Subscription { rx }
    }
}

/// Opens the stream on each connection in turn and forwards its items.
async fn follow<A, T>(
    client: &ReconnectingClient,
    method: &str,
    args: &A,
    options: StreamOptions,
    tx: &mpsc::Sender<Result<Delivery<T>, Error>>,
) where
    A: Serialize + Sync,
    T: DeserializeOwned,
{
    let mut opened_before = false;
    loop {
        let peer = match client.wait_for_peer(far_future(), true).await {
            Ok(peer) => peer,
            Err(err) => {
                let _ = tx.try_send(Err(err));
                return;
            }
        };
        let mut items = match peer.open::<A, T>(method, args, options.clone()).await {
            Ok(items) => items,
            // The connection went before or during the open: next one.
            Err(err) if err.is_closed() => continue,
            Err(err) => {
                let _ = tx.send(Err(err)).await;
                return;
            }
        };
        if opened_before && tx.send(Ok(Delivery::Gap)).await.is_err() {
            return;
        }
        opened_before = true;
        loop {
            let delivery = match items.next().await {
                None => return,
                Some(Ok(item)) => Ok(Delivery::Item(item)),
                Some(Err(StreamError::Transport(_))) => break,
                Some(Err(failure)) => Err(into_error(failure)),
            };
            let failed = delivery.is_err();
            if tx.send(delivery).await.is_err() || failed {
                return;
            }
        }
    }
}

fn into_error(failure: StreamError) -> Error {
    match failure {
        StreamError::Application(remote) => Error::Remote(remote),
        StreamError::Transport(reason) => Error::Indeterminate(reason),
        StreamError::Timeout(limit) => Error::Timeout(limit),
        // `Incoming` hands each decode failure out once, so the `Arc` is
        // its only owner; were it not, the item is lost all the same.
        StreamError::Decode(err) => match std::sync::Arc::try_unwrap(err) {
            Ok(err) => Error::Decode(err),
            Err(shared) => Error::Remote(crate::error::RemoteError::new(
                crate::protocol::ErrorCode::INTERNAL,
                shared.to_string(),
                bytes::Bytes::new(),
            )),
        },
    }
}

/// A subscription waits for a connection as long as the client lives.
fn far_future() -> tokio::time::Instant {
    crate::deadline::after(std::time::Duration::MAX)
}
