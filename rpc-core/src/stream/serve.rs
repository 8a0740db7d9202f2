//! Serving streams from a handler: [`Request::send_stream`] sends items under
//! the caller's credit; [`Request::incoming`] receives the caller's uploads.

use std::pin::pin;

use futures_util::{Stream, StreamExt};
use serde::{Serialize, de::DeserializeOwned};

use super::Incoming;
use crate::{
    codec,
    protocol::{Accepted, ErrorCode, Frame, Side, StreamRef},
    router::{HandlerError, Reply, Request},
};

impl Request {
    /// Whether the caller opened this request as a stream.
    pub fn is_stream(&self) -> bool {
        self.stream_id().is_some()
    }

    fn stream_id(&self) -> Option<u64> {
        self.id()
            .filter(|id| self.is_open_stream() && self.session().shared().streams().is_served(*id))
    }

    fn not_a_stream() -> HandlerError {
        HandlerError::new(
            ErrorCode::BAD_ARGUMENTS,
            "this method streams: open it as a stream (Peer::open), not as a call or cast",
        )
    }

    /// The caller's uploads, for client-streaming and bidirectional methods.
    /// Credit for the session's `stream_window` items is granted now, and
    /// more as they are consumed.
    ///
    /// # Errors
    ///
    /// A `bad arguments` error when the request was not opened as a stream.
    pub fn incoming<U: DeserializeOwned>(&self) -> Result<Incoming<U>, HandlerError> {
        let id = self.stream_id().ok_or_else(Self::not_a_stream)?;
        let shared = self.session().shared();
        let window = shared.config().stream_window;
        let rx = shared
            .streams()
            .accept_uploads(id, window)
            .ok_or_else(Self::not_a_stream)?;
        shared.control().credit(id, Side::Caller, window);
        Ok(Incoming::new(
            rx,
            std::sync::Arc::clone(shared),
            id,
            Side::Caller,
            window,
            shared.config().stream_idle_timeout,
        ))
    }

    /// Sends every item of `items` to the caller, waiting for credit before
    /// each, then ends the stream. Returns the (empty) reply for the handler
    /// to return.
    ///
    /// When the server begins a graceful shutdown
    /// ([`Session::shutting_down`](crate::Session::shutting_down)), the
    /// stream ends at once with a `shutting down` error at the caller, so
    /// that an endless stream does not hold the shutdown for its grace.
    ///
    /// # Errors
    ///
    /// A `bad arguments` error when the request was not opened as a stream,
    /// `internal` when an item does not encode, `shutting down` as above.
    /// When the session ends the handler is aborted, so this never returns.
    pub async fn send_stream<S, T>(&self, items: S) -> Result<Reply, HandlerError>
    where
        S: Stream<Item = T>,
        T: Serialize,
    {
        self.send_try_stream(items.map(Ok::<T, HandlerError>)).await
    }

    /// [`send_stream`](Self::send_stream) for fallible items: the first error
    /// ends the stream with that error at the caller.
    ///
    /// # Errors
    ///
    /// The first item's error, or as [`send_stream`](Self::send_stream).
    pub async fn send_try_stream<S, T, E>(&self, items: S) -> Result<Reply, HandlerError>
    where
        S: Stream<Item = Result<T, E>>,
        T: Serialize,
        E: Into<HandlerError>,
    {
        let id = self.stream_id().ok_or_else(Self::not_a_stream)?;
        tokio::select! {
            biased;
            () = self.session().shutting_down() => Err(HandlerError::new(
                ErrorCode::SHUTTING_DOWN,
                "the stream ended: the peer is shutting down",
            )),
            sent = self.send_items(id, items) => sent,
        }
    }

    /// The stream itself: each item under the caller's credit, then `End`.
    async fn send_items<S, T, E>(&self, id: u64, items: S) -> Result<Reply, HandlerError>
    where
        S: Stream<Item = Result<T, E>>,
        T: Serialize,
        E: Into<HandlerError>,
    {
        let shared = self.session().shared();
        let credit = shared
            .streams()
            .response_credit(id)
            .ok_or_else(Self::not_a_stream)?;
        if shared.features().stream_accepted {
            let accepted = codec::encode(&Frame::Accepted(Accepted { id }))
                .map_err(|err| HandlerError::new(ErrorCode::INTERNAL, err.to_string()))?;
            if shared.send(accepted).await.is_err() {
                return Ok(Reply(None));
            }
        }
        let mut items = pin!(items);
        while let Some(item) = items.next().await {
            let item = item.map_err(Into::into)?;
            let Ok(permit) = credit.acquire().await else {
                // The stream was cancelled or the session ended.
                return Ok(Reply(None));
            };
            permit.forget();
            let frame = codec::encode_with(
                &Frame::Item(StreamRef {
                    id,
                    to: Side::Caller,
                }),
                &item,
            )
            .map_err(|err| {
                HandlerError::new(
                    ErrorCode::INTERNAL,
                    format!("stream item does not encode: {err}"),
                )
            })?;
            if let Err(too_large) = shared.fits(&frame) {
                return Err(HandlerError::new(ErrorCode::TOO_LARGE, too_large.message()));
            }
            if shared.send(frame).await.is_err() {
                return Ok(Reply(None));
            }
        }
        let end = codec::encode(&Frame::End(StreamRef {
            id,
            to: Side::Caller,
        }))
        .map_err(|err| HandlerError::new(ErrorCode::INTERNAL, err.to_string()))?;
        shared.finish_served(id, self.serial());
        let _ = shared.send(end).await;
        Ok(Reply(None))
    }
}
