//! [`Incoming`]: the receiving end of a stream, with credit returned as items
//! are consumed and an optional idle timeout.

use std::{
    fmt,
    marker::PhantomData,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures_util::Stream;
use serde::de::DeserializeOwned;
use tokio::{sync::mpsc, time::Sleep};

use super::StreamError;
use crate::{
    codec,
    error::Error,
    protocol::Side,
    session::{Shared, Slot, streams::Event},
};

/// The items of a stream as they arrive: the answer of a streaming call on
/// the caller's side, or the caller's uploads on the handler's side.
///
/// Yields `Ok(item)` for each item and ends with `None`, or with one
/// `Err(StreamError)` when the stream fails. Holding it unread stalls only
/// this stream: the sender waits for credit, which is granted back as items
/// are taken. Dropping the caller's `Incoming` cancels the call.
pub struct Incoming<T> {
    rx: mpsc::Receiver<Event>,
    /// An answer that arrived while the open waited for `Accepted` (from a
    /// peer that answers without it), handed out first.
    early: Option<Event>,
    shared: Arc<Shared>,
    id: u64,
    /// Who sends the items, and so receives our credit.
    sender: Side,
    window: u32,
    consumed: u32,
    idle: Option<(Duration, Pin<Box<Sleep>>)>,
    finished: bool,
    /// On the caller's side, dropping an unfinished stream cancels the call.
    cancel_on_drop: bool,
    /// On the caller's side, the slot of the peer's `max_in_flight` the
    /// stream holds until it ends.
    slot: Option<Slot>,
    _item: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Incoming<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("id", &self.id)
            .field("window", &self.window)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<T> Incoming<T> {
    pub(crate) fn new(
        rx: mpsc::Receiver<Event>,
        shared: Arc<Shared>,
        id: u64,
        sender: Side,
        window: u32,
        idle_timeout: Option<Duration>,
    ) -> Self {
        let idle = idle_timeout.map(|d| (d, Box::pin(tokio::time::sleep(d))));
        Self {
            rx,
            early: None,
            shared,
            id,
            sender,
            window,
            consumed: 0,
            idle,
            finished: false,
            cancel_on_drop: sender == Side::Callee,
            slot: None,
            _item: PhantomData,
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Holds `slot` until the stream ends.
    pub(crate) fn hold(&mut self, slot: Slot) {
        self.slot = Some(slot);
    }

    /// Waits, at most `limit`, until the callee accepts the stream: its
    /// `Accepted`, or any answer at all (kept for the consumer). A refusal
    /// or the session's end is the open's error.
    pub(crate) async fn accepted(&mut self, limit: Duration) -> Result<(), Error> {
        let Ok(first) = tokio::time::timeout(limit, self.rx.recv()).await else {
            self.finish(true);
            return Err(Error::Timeout(limit));
        };
        match first {
            Some(Event::Accepted) => Ok(()),
            Some(Event::Failed(failure)) => {
                self.finish(false);
                Err(match failure {
                    StreamError::Application(remote) => Error::Remote(remote),
                    // The open was sent: the handler may have started.
                    StreamError::Transport(reason) => Error::Indeterminate(reason),
                    StreamError::Timeout(limit) => Error::Timeout(limit),
                    StreamError::Decode(_) => Error::Indeterminate(self.shared.close_reason()),
                })
            }
            Some(answer) => {
                self.early = Some(answer);
                Ok(())
            }
            None => {
                self.finish(false);
                Err(Error::Indeterminate(self.shared.close_reason()))
            }
        }
    }

    /// Returns credit once half the window is consumed: fewer credit frames
    /// than one per item, and the sender never runs dry while we keep up.
    fn took_item(&mut self) {
        self.consumed += 1;
        if self.consumed >= (self.window / 2).max(1) {
            self.shared
                .control()
                .credit(self.id, self.sender, self.consumed);
            self.consumed = 0;
        }
        if let Some((timeout, sleep)) = &mut self.idle {
            sleep.as_mut().reset(crate::deadline::after(*timeout));
        }
    }

    fn finish(&mut self, cancel: bool) {
        self.finished = true;
        self.slot = None;
        if cancel && self.cancel_on_drop {
            self.shared.control().cancel(self.id);
        }
        if self.sender == Side::Callee {
            self.shared.streams().forget_opened(self.id);
        }
        self.cancel_on_drop = false;
    }
}

impl<T> Incoming<T> {
    /// The next item's bytes, undecoded: what both the typed stream and
    /// [`RawIncoming`] yield before the typed one decodes.
    fn poll_bytes(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, StreamError>>> {
        if self.finished {
            return Poll::Ready(None);
        }
        // `Accepted` is for the open that waits for it (when this side
        // waits); it says nothing to the consumer.
        let next = loop {
            let next = match self.early.take() {
                Some(early) => Poll::Ready(Some(early)),
                None => self.rx.poll_recv(cx),
            };
            if !matches!(next, Poll::Ready(Some(Event::Accepted))) {
                break next;
            }
        };
        match next {
            Poll::Ready(Some(Event::Accepted)) => unreachable!("skipped above"),
            Poll::Ready(Some(Event::Item(bytes))) => {
                self.took_item();
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(Some(Event::End | Event::Reply(_))) => {
                self.finish(false);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Event::Failed(err))) => {
                self.finish(false);
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(None) => {
                self.finish(false);
                Poll::Ready(Some(Err(StreamError::Transport(
                    self.shared.close_reason(),
                ))))
            }
            Poll::Pending => {
                if let Some((timeout, sleep)) = &mut self.idle
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    let timeout = *timeout;
                    self.finish(true);
                    return Poll::Ready(Some(Err(StreamError::Timeout(timeout))));
                }
                Poll::Pending
            }
        }
    }
}

impl<T: DeserializeOwned> Stream for Incoming<T> {
    type Item = Result<T, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.poll_bytes(cx).map(|next| {
            next.map(|item| {
                codec::decode_value(&item?).map_err(|err| {
                    this.finish(true);
                    StreamError::Decode(Arc::new(err))
                })
            })
        })
    }
}

impl<T> Drop for Incoming<T> {
    fn drop(&mut self) {
        if !self.finished {
            self.finish(true);
        }
    }
}

/// The items of a stream as their postcard bytes, undecoded: what
/// [`Peer::open_raw`](crate::Peer::open_raw) returns to a caller without
/// the Rust types (a command-line tool that decodes them by schema).
///
/// Behaves as [`Incoming`] does: `Ok(bytes)` for each item, then `None`,
/// or one `Err(StreamError)` when the stream fails (an application error
/// carries the encoded error value in
/// [`RemoteError::data`](crate::RemoteError::data)); credit is granted back
/// as items are taken, and dropping it early cancels the call.
pub struct RawIncoming(Incoming<Bytes>);

impl RawIncoming {
    pub(crate) fn new(incoming: Incoming<Bytes>) -> Self {
        Self(incoming)
    }
}

impl fmt::Debug for RawIncoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawIncoming").field(&self.0).finish()
    }
}

impl Stream for RawIncoming {
    type Item = Result<Bytes, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().0.poll_bytes(cx)
    }
}
