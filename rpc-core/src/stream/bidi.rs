//! [`BidiStream`]: a bidirectional stream's answers paired with the task that
//! feeds its uploads, which is aborted when the stream is dropped.

use std::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
};

use futures_util::Stream;
use serde::de::DeserializeOwned;
use tokio::task::AbortHandle;

use super::{Incoming, StreamError};

/// The answers of a bidirectional stream. The uploads given to
/// [`Peer::open_bidi`](crate::Peer::open_bidi) are fed by a task of their
/// own, under the callee's credit; dropping this stream aborts that task
/// (dropping the upload stream) and cancels the call, so nothing outlives it.
pub struct BidiStream<T> {
    answers: Incoming<T>,
    feeder: AbortHandle,
}

impl<T> fmt::Debug for BidiStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BidiStream")
            .field("answers", &self.answers)
            .field("feeding", &!self.feeder.is_finished())
            .finish()
    }
}

impl<T> BidiStream<T> {
    pub(crate) fn new(answers: Incoming<T>, feeder: AbortHandle) -> Self {
        Self { answers, feeder }
    }

    /// Whether the uploads are still being fed.
    pub fn is_feeding(&self) -> bool {
        !self.feeder.is_finished()
    }
}

impl<T: DeserializeOwned> Stream for BidiStream<T> {
    type Item = Result<T, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().answers).poll_next(cx)
    }
}

impl<T> Drop for BidiStream<T> {
    fn drop(&mut self) {
        self.feeder.abort();
    }
}
