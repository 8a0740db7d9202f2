//! Opening streams on a [`Peer`]: server streaming, bidirectional, and
//! client streaming answered by one value.

use std::{pin::pin, sync::Arc};

use futures_util::{Stream, StreamExt};
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::Semaphore;

use super::{BidiStream, Incoming, StreamError, StreamOptions};
use crate::{
    codec::{self, Payload},
    error::Error,
    protocol::{Frame, Open, Side, StreamRef},
    session::{Peer, Shared, streams::Event},
};

impl Peer {
    /// Opens a server stream: calls `method` with `args` and returns its
    /// items as they come.
    ///
    /// Returns once the callee accepted the stream: its handler started
    /// answering, so whatever it subscribed to before returning its stream
    /// reaches this one. That costs one round trip, which the first item
    /// would cost anyway. (A peer that does not speak the `stream-accepted`
    /// feature is not waited for.)
    ///
    /// # Errors
    ///
    /// [`Error::Remote`] when the callee refuses the stream (unknown method,
    /// bad arguments, the handler's own error before its first item),
    /// [`Error::Timeout`] when it does not accept within the stream's idle
    /// timeout (or the session's call timeout), [`Error::Closed`] or
    /// [`Error::Encode`]. Errors after the stream started arrive as its last
    /// item.
    pub async fn open<A, T>(
        &self,
        method: &str,
        args: &A,
        options: StreamOptions,
    ) -> Result<Incoming<T>, Error>
    where
        A: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let (incoming, _upload_credit) = self.start(method, &codec::Value(args), &options).await?;
        Ok(incoming)
    }

    /// Opens a bidirectional stream: `uploads` are fed to the handler by a
    /// task of their own, under the handler's credit, while the answers
    /// arrive on the returned stream. Dropping it stops both. Returns once
    /// the callee accepted the stream, as [`open`](Self::open) does.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub async fn open_bidi<A, U, T, S>(
        &self,
        method: &str,
        args: &A,
        uploads: S,
        options: StreamOptions,
    ) -> Result<BidiStream<T>, Error>
    where
        A: Serialize + ?Sized,
        U: Serialize + Send + 'static,
        T: DeserializeOwned,
        S: Stream<Item = U> + Send + 'static,
    {
        let (incoming, credit) = self.start(method, &codec::Value(args), &options).await?;
        let feeder = self.shared.tracker().spawn(feed(
            Arc::clone(&self.shared),
            incoming.id(),
            credit,
            uploads,
        ));
        Ok(BidiStream::new(incoming, feeder.abort_handle()))
    }

    /// Client streaming: sends `uploads` to `method` under the handler's
    /// credit and waits for its single answer. Dropping the future cancels
    /// the call and stops the uploads.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call), except that no timeout applies unless
    /// `options.idle_timeout` is set.
    pub async fn call_with_upload<A, U, R, S>(
        &self,
        method: &str,
        args: &A,
        uploads: S,
        options: StreamOptions,
    ) -> Result<R, Error>
    where
        A: Serialize + ?Sized,
        U: Serialize + Send + 'static,
        R: DeserializeOwned,
        S: Stream<Item = U> + Send + 'static,
    {
        // Held until the answer: streams over the peer's limit wait here.
        let queue_limit = options
            .idle_timeout
            .unwrap_or(self.shared.config().call_timeout);
        let _slot = self.shared.slot(queue_limit).await?;
        let id = self.shared.next_id();
        let window = options.window.unwrap_or(self.shared.config().stream_window);
        let (mut answers, credit) = self.shared.streams().open(id, window);
        let guard = Abandon {
            shared: &self.shared,
            id,
            done: false,
        };
        let mut extra = Vec::new();
        let settle = self.plan_schema(method, options.schema_hash, &mut extra)?;
        send_open(
            &self.shared,
            id,
            method,
            &codec::Value(args),
            (&options, &extra),
            window,
        )
        .await?;
        let feeder =
            self.shared
                .tracker()
                .spawn(feed(Arc::clone(&self.shared), id, credit, uploads));
        let _stop_feeding = AbortOnDrop(feeder.abort_handle());
        let wait = async {
            loop {
                match answers.recv().await {
                    Some(Event::Reply(bytes)) => {
                        return codec::decode_value(&bytes).map_err(Error::Decode);
                    }
                    Some(Event::Failed(StreamError::Application(remote))) => {
                        return Err(Error::Remote(remote));
                    }
                    Some(Event::Accepted | Event::Item(_) | Event::End) => {}
                    // Sent, then lost: the handler may have run.
                    Some(Event::Failed(_)) | None => {
                        return Err(Error::Indeterminate(self.shared.close_reason()));
                    }
                }
            }
        };
        let result = match options.idle_timeout {
            Some(limit) => tokio::time::timeout(limit, wait)
                .await
                .unwrap_or(Err(Error::Timeout(limit))),
            None => wait.await,
        };
        let mut guard = guard;
        // Only a timeout leaves the handler running; every other outcome
        // means the callee has finished.
        guard.done = !matches!(result, Err(Error::Timeout(_)));
        if let Some(hash) = settle {
            self.shared.schema_checks().settle(method, hash, &result);
        }
        result
    }

    /// Registers and sends an `Open`, and waits for the callee to accept it
    /// (when the peer speaks `stream-accepted`); returns the answers and
    /// the upload credit. The typed and the raw opens share it.
    pub(crate) async fn start<T>(
        &self,
        method: &str,
        args: &(impl Payload + ?Sized),
        options: &StreamOptions,
    ) -> Result<(Incoming<T>, Arc<Semaphore>), Error> {
        let config = self.shared.config();
        let window = options.window.unwrap_or(config.stream_window);
        let idle = options.idle_timeout.or(config.stream_idle_timeout);
        // Held by the stream until it ends: streams over the peer's limit
        // wait here.
        let slot = self
            .shared
            .slot(idle.unwrap_or(config.call_timeout))
            .await?;
        let id = self.shared.next_id();
        let (answers, credit) = self.shared.streams().open(id, window);
        // From here, dropping `incoming` cancels and unregisters the stream.
        let mut incoming = Incoming::new(
            answers,
            Arc::clone(&self.shared),
            id,
            Side::Callee,
            window,
            idle,
        );
        incoming.hold(slot);
        let mut extra = Vec::new();
        let settle = self.plan_schema(method, options.schema_hash, &mut extra)?;
        send_open(&self.shared, id, method, args, (options, &extra), window).await?;
        if self.shared.features().stream_accepted {
            let accepted = incoming.accepted(idle.unwrap_or(config.call_timeout)).await;
            // Only an acceptance (or a refusal) says what the callee made of
            // the hash; without the feature, it is sent again next time.
            if let Some(hash) = settle {
                self.shared.schema_checks().settle(method, hash, &accepted);
            }
            accepted?;
        }
        Ok((incoming, credit))
    }
}

async fn send_open(
    shared: &Shared,
    id: u64,
    method: &str,
    args: &(impl Payload + ?Sized),
    (options, extra): (&StreamOptions, &[(String, String)]),
    window: u32,
) -> Result<(), Error> {
    let headers = options
        .headers
        .iter()
        .chain(extra)
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let frame = Frame::Open(Open {
        id,
        method,
        headers,
        credit: window,
    });
    let bytes = args.after(&frame).map_err(Error::Encode)?;
    shared.fits(&bytes)?;
    shared.send(bytes).await.map_err(Error::Closed)
}

/// Feeds uploads under the callee's credit, then ends the upload direction.
async fn feed<U, S>(shared: Arc<Shared>, id: u64, credit: Arc<Semaphore>, uploads: S)
where
    U: Serialize,
    S: Stream<Item = U>,
{
    let mut uploads = pin!(uploads);
    while let Some(item) = uploads.next().await {
        // Closed when the stream or the session ends.
        let Ok(permit) = credit.acquire().await else {
            return;
        };
        permit.forget();
        let frame = Frame::Item(StreamRef {
            id,
            to: Side::Callee,
        });
        match codec::encode_with(&frame, &item) {
            Ok(bytes) if shared.fits(&bytes).is_err() => {
                tracing::error!(
                    id,
                    size = bytes.len(),
                    "upload item larger than the peer accepts; cancelling the stream"
                );
                shared.control().cancel(id);
                return;
            }
            Ok(bytes) => {
                if shared.send(bytes).await.is_err() {
                    return;
                }
            }
            Err(err) => {
                tracing::error!(id, error = %err, "upload item does not encode; cancelling the stream");
                shared.control().cancel(id);
                return;
            }
        }
    }
    if let Ok(bytes) = codec::encode(&Frame::End(StreamRef {
        id,
        to: Side::Callee,
    })) {
        let _ = shared.send(bytes).await;
    }
}

/// Cancels a client-streaming call that ends without its answer.
struct Abandon<'a> {
    shared: &'a Shared,
    id: u64,
    done: bool,
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.control().cancel(self.id);
        }
        self.shared.streams().forget_opened(self.id);
    }
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
