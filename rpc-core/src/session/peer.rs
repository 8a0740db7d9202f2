//! [`Peer`]: calling the other side of a session.

use std::{
    fmt,
    future::{Future, poll_fn},
    pin::pin,
    sync::{Arc, Weak},
    task::Poll,
    time::Duration,
};

use bytes::Bytes;
use serde::{Serialize, de::DeserializeOwned};
use tokio::time::Instant;
use tracing::Instrument;

use super::{Shared, pending::Answer};
use crate::{
    codec::{self, Payload},
    error::{CloseReason, Error},
    metadata::{RouterInfo, decode_described},
    metrics::record::{self, Started},
    protocol::{Call, Cast, Discover, Frame, Notify, REQUEST_ID_HEADER, SCHEMA_HEADER, close_code},
    schema::check::Plan,
    text::Clipped,
};

/// Options of one call: a timeout other than the session's default, and
/// metadata headers the handler can read with
/// [`Request::header`](crate::Request::header).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CallOptions {
    /// How long to wait for the answer. Default: the session's
    /// [`call_timeout`](crate::SessionConfig::call_timeout).
    pub timeout: Option<Duration>,
    /// Metadata headers (name, value). Default: none.
    pub headers: Vec<(String, String)>,
    /// Whether the method may be retried after the connection dropped with
    /// the call in flight: what `#[rpc::call(idempotent)]` sets in its
    /// stub. A [`ReconnectingClient`](crate::ReconnectingClient) then sends
    /// the call with an operation id ([`OPERATION_ID_HEADER`]) and sends it
    /// again, with the same id, on the next connection; the server runs it
    /// once. A plain [`Peer`] never retries. Default: `false`.
    ///
    /// [`OPERATION_ID_HEADER`]: crate::protocol::OPERATION_ID_HEADER
    pub idempotent: bool,
    /// The caller's schema hash of the method
    /// ([`MethodSchema::hash`](crate::schema::MethodSchema::hash)), which
    /// typed stubs set: the request carries it ([`SCHEMA_HEADER`]) until the
    /// peer has accepted it once in the session, and a peer whose method
    /// has another hash refuses it with
    /// [`ErrorCode::INCOMPATIBLE_SCHEMA`](crate::ErrorCode::INCOMPATIBLE_SCHEMA),
    /// as do, without asking again, later requests with it in that
    /// session. Default: `None`, no check.
    ///
    /// [`SCHEMA_HEADER`]: crate::protocol::SCHEMA_HEADER
    pub schema_hash: Option<u64>,
}

impl CallOptions {
    /// Sets [`timeout`](Self::timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Marks the call [`idempotent`](Self::idempotent).
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// Sets [`schema_hash`](Self::schema_hash).
    pub fn schema_hash(mut self, hash: u64) -> Self {
        self.schema_hash = Some(hash);
        self
    }

    /// The headers as the frame takes them, with `traced` added.
    fn header_refs<'a>(&'a self, traced: &'a [(String, String)]) -> Vec<(&'a str, &'a str)> {
        if self.headers.is_empty() && traced.is_empty() {
            return Vec::new();
        }
        self.headers
            .iter()
            .chain(traced)
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }
}

/// The headers a traced call adds to its own, recorded in its `span`: a
/// request id unless the caller set one (which is sent as it is), and with
/// the `opentelemetry` feature the span's trace context. None when the span
/// is disabled: a call nobody traces costs nothing.
fn traced_headers(span: &tracing::Span, options: &CallOptions) -> Vec<(String, String)> {
    let mut traced = Vec::new();
    if span.is_disabled() {
        return traced;
    }
    if let Some((_, own)) = options
        .headers
        .iter()
        .find(|(name, _)| name == REQUEST_ID_HEADER)
    {
        span.record("request_id", tracing::field::display(Clipped(own)));
    } else {
        let id = format!("{:016x}", rand::random::<u64>());
        span.record("request_id", tracing::field::display(&id));
        traced.push((REQUEST_ID_HEADER.to_owned(), id));
    }
    #[cfg(feature = "opentelemetry")]
    crate::otel::inject(span, &mut traced);
    traced
}

/// A handle to call the other side of a session: the server's view of a
/// client ([`Session::peer`](crate::Session::peer)) or a client's view of the
/// server ([`Client::peer`](crate::Client::peer)). Cheap to clone.
///
/// A client's peer, and every clone of it (a typed stub holds one), keeps
/// the connection open as the [`Client`](crate::Client) does: the session
/// closes once the client and all of them are dropped, or at once on
/// [`Client::close`](crate::Client::close) or [`close`](Self::close). A peer
/// from a [`Session`](crate::Session), on either side, keeps nothing open:
/// the session ends when its connection does.
///
/// Arguments travel as one postcard value, by convention the tuple of the
/// method's parameters: `peer.call("add", &(1, 2))`, `peer.call("neg", &(5,))`.
#[derive(Clone)]
pub struct Peer {
    pub(crate) shared: Arc<Shared>,
    /// The hold on a client's session; `None` for a session's own peers.
    hold: Option<Arc<Hold>>,
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Peer")
            .field("session", &self.shared.id)
            .field("pending", &self.shared.pending.len())
            .field("holds_open", &self.hold.is_some())
            .finish()
    }
}

/// Keeps a client's session open: the client and every peer cloned from
/// its own share one, and the last of them to drop closes the session with
/// `reason` (1000). It names the session weakly, and the session never
/// stores a held peer (handlers get [`Session::peer`](crate::Session::peer),
/// which holds nothing), so the library makes no cycle that keeps a session
/// open; a user who stores a client's peer in state of a router mounted on
/// that same client makes one, as the docs of `Client::peer` warn.
pub(crate) struct Hold {
    shared: Weak<Shared>,
    reason: &'static str,
}

impl Hold {
    pub(crate) fn new(shared: &Arc<Shared>, reason: &'static str) -> Arc<Self> {
        Arc::new(Self {
            shared: Arc::downgrade(shared),
            reason,
        })
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.close(CloseReason::local(close_code::NORMAL, self.reason));
        }
    }
}

impl Peer {
    /// A peer that keeps nothing open.
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared, hold: None }
    }

    /// A peer that keeps the session open while it, or a clone, lives.
    pub(crate) fn held(shared: Arc<Shared>, hold: Arc<Hold>) -> Self {
        Self {
            shared,
            hold: Some(hold),
        }
    }

    /// Id of the session this peer is reached through.
    pub fn session_id(&self) -> u64 {
        self.shared.id
    }

    /// Calls `method` with `args` and decodes the answer as `R`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] after the session's call timeout (a cancel frame is
    /// sent), [`Error::Remote`] when the peer answers with an error,
    /// [`Error::Closed`] when the session had ended before the call was
    /// sent, [`Error::Indeterminate`] when it ended after, [`Error::Encode`] /
    /// [`Error::Decode`] when a value does not fit its type.
    // Not an `async fn`, here and below: one keeps its arguments twice, and
    // a call's future is moved whole wherever its caller puts it (see
    // docs/performance.md, "Where it stands: issue 10, round 5").
    pub fn call<A, R>(&self, method: &str, args: &A) -> impl Future<Output = Result<R, Error>>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.call_with(method, args, CallOptions::default())
    }

    /// [`call`](Self::call) with per-call options.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn keeps its arguments twice in its future"
    )]
    pub fn call_with<A, R>(
        &self,
        method: &str,
        args: &A,
        options: CallOptions,
    ) -> impl Future<Output = Result<R, Error>>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        async move {
            self.call_payload(method, &codec::Value(args), &options, |answer| {
                codec::decode_value(&answer).map_err(Error::Decode)
            })
            .await
        }
    }

    /// A call whose arguments are `args` after the header, and whose
    /// answer's payload `decode` reads: the typed and the raw calls.
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn keeps its arguments twice in its future"
    )]
    pub(super) fn call_payload<R>(
        &self,
        method: &str,
        args: &(impl Payload + ?Sized),
        options: &CallOptions,
        decode: impl FnOnce(Bytes) -> Result<R, Error>,
    ) -> impl Future<Output = Result<R, Error>> {
        async move {
            // One clock read for the deadline and the metrics both.
            let now = Instant::now();
            let id = self.shared.next_id();
            let span = tracing::debug_span!(
                "call",
                method = %Clipped(method),
                id,
                request_id = tracing::field::Empty
            );
            let mut extra = traced_headers(&span, options);
            let settle = match self.plan_schema(method, options.schema_hash, &mut extra) {
                Ok(settle) => settle,
                Err(refused) => return made(method, Err(refused), now),
            };
            let extra = &extra;
            // Made where it is awaited, not held in a local first: a future
            // moved into an `.await` takes its room in this one twice.
            let exchange = move || async move {
                // In a block of its own: a local keeps its room in the
                // future until its scope ends, even once moved or dropped.
                let bytes = {
                    let frame = Frame::Call(Call {
                        id,
                        method,
                        headers: options.header_refs(extra),
                    });
                    args.after(&frame).map_err(Error::Encode)?
                };
                self.shared.fits(&bytes)?;
                let timeout = options.timeout.unwrap_or(self.shared.config.call_timeout);
                // Held until the answer: calls over the peer's limit wait
                // here, within the call's timeout.
                let _slot = self.shared.slot(timeout).await?;
                let answer = self
                    .request(id, bytes, (crate::deadline::from(now, timeout), timeout))
                    .await?;
                decode(answer)
            };
            // A disabled span costs nothing then, not an enter and exit per
            // poll.
            let outcome = if span.is_disabled() {
                exchange().await
            } else {
                exchange().instrument(span).await
            };
            if let Some(hash) = settle {
                self.shared.schema_checks().settle(method, hash, &outcome);
            }
            made(method, outcome, now)
        }
    }

    /// Sends `method` with `args` and no reply; returns once the frame is
    /// queued. Errors from the handler come back as connection errors in the
    /// peer's logs, never to the caller.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] or [`Error::Encode`].
    pub async fn cast<A: Serialize + ?Sized>(&self, method: &str, args: &A) -> Result<(), Error> {
        self.cast_with(method, args, CallOptions::default()).await
    }

    /// [`cast`](Self::cast) with the headers of `options` (a cast waits for
    /// no answer, so the timeout does not apply).
    ///
    /// # Errors
    ///
    /// As [`cast`](Self::cast).
    pub async fn cast_with<A: Serialize + ?Sized>(
        &self,
        method: &str,
        args: &A,
        options: CallOptions,
    ) -> Result<(), Error> {
        self.cast_payload(method, &codec::Value(args), &options)
            .await
    }

    /// A cast whose arguments are `args` after the header.
    pub(super) async fn cast_payload(
        &self,
        method: &str,
        args: &(impl Payload + ?Sized),
        options: &CallOptions,
    ) -> Result<(), Error> {
        let mut extra = Vec::new();
        self.plan_schema(method, options.schema_hash, &mut extra)?;
        let frame = Frame::Cast(Cast {
            method,
            headers: options.header_refs(&extra),
        });
        let bytes = args.after(&frame).map_err(Error::Encode)?;
        self.shared.fits(&bytes)?;
        self.shared.send(bytes).await.map_err(Error::Closed)
    }

    /// Sends a notification on `topic`; the peer routes it to the method of
    /// that name, as a cast.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] or [`Error::Encode`].
    pub async fn notify<T: Serialize + ?Sized>(&self, topic: &str, value: &T) -> Result<(), Error> {
        let bytes =
            codec::encode_with(&Frame::Notify(Notify { topic }), value).map_err(Error::Encode)?;
        self.shared.fits(&bytes)?;
        self.shared.send(bytes).await.map_err(Error::Closed)
    }

    /// Asks the peer which routers it serves: names, kinds, parameters,
    /// types and docs of every method.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub async fn discover(&self) -> Result<Vec<RouterInfo>, Error> {
        let id = self.shared.next_id();
        let bytes = codec::encode(&Frame::Discover(Discover { id })).map_err(Error::Encode)?;
        let answer = self
            // The peer answers discover requests itself, outside its
            // in-flight limit: no slot.
            .request(id, bytes, after(self.shared.config.call_timeout))
            .await?;
        decode_described(&answer, self.shared.features()).map_err(Error::Decode)
    }

    /// Adds the schema header to `extra` when `hash` is one the peer has
    /// not accepted yet for `method`; the hash to settle once answered, if
    /// the header was added; `Err` when the peer refused this hash before.
    pub(crate) fn plan_schema(
        &self,
        method: &str,
        hash: Option<u64>,
        extra: &mut Vec<(String, String)>,
    ) -> Result<Option<u64>, Error> {
        let Some(hash) = hash else {
            return Ok(None);
        };
        if !self.shared.features().schemas {
            return Ok(None);
        }
        match self.shared.schema_checks().plan(method, hash)? {
            Plan::Plain => Ok(None),
            Plan::Check(text) => {
                extra.push((SCHEMA_HEADER.to_owned(), text));
                Ok(Some(hash))
            }
        }
    }

    /// Closes the session normally (1000).
    pub fn close(&self) {
        self.shared.close(CloseReason::local(
            close_code::NORMAL,
            "closed by the caller",
        ));
    }

    /// Whether the session has started closing.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closing()
    }

    /// Waits until the session closes and tells why.
    pub async fn closed(&self) -> CloseReason {
        self.shared.closed().await
    }

    /// Sends a request frame and waits for its answer until `deadline`,
    /// which is `timeout` after the call began. Dropping the future (or the
    /// timeout) forgets the call and tells the peer to cancel it.
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn keeps its arguments twice in its future"
    )]
    fn request(
        &self,
        id: u64,
        frame: Bytes,
        (deadline, timeout): (Instant, Duration),
    ) -> impl Future<Output = Result<Bytes, Error>> {
        async move {
            // The session's timer watches calls whose deadline comes no
            // later than the default timeout's (a pool's or a reconnecting
            // client's calls pass what is left of theirs), when they keep
            // its queue in order; a longer one would push every later
            // call's deadline out of order, onto timers of their own.
            let watch = (timeout <= self.shared.config.call_timeout).then_some(deadline);
            let watched = self
                .shared
                .pending
                .register(id, watch)
                .map_err(Error::Closed)?;
            let mut guard = CancelOnDrop {
                shared: &self.shared,
                id,
                answered: false,
            };
            // Boxed: a timer is over 100 bytes, and most calls are watched
            // by the session's.
            let mut timer = (!watched).then(|| Box::pin(tokio::time::sleep_until(deadline)));
            let mut exchange = pin!(async move {
                if let Err(closed) = self.shared.send_call(frame).await {
                    // Never sent: nothing to cancel at the peer.
                    self.shared.pending.forget(id);
                    return Err(Error::Closed(closed));
                }
                // From here the peer may have the call: losing the session
                // leaves its outcome unknown.
                match self.shared.pending.answer(id).await {
                    Some(Answer::Value(bytes)) => Ok(bytes),
                    Some(Answer::Failed(remote)) => Err(Error::Remote(remote)),
                    Some(Answer::Closed(reason)) => Err(Error::Indeterminate(reason)),
                    Some(Answer::Expired) => Err(Error::Timeout(timeout)),
                    None => Err(Error::Indeterminate(self.shared.close_reason())),
                }
            });
            let result = poll_fn(|cx| {
                if let Poll::Ready(result) = exchange.as_mut().poll(cx) {
                    return Poll::Ready(result);
                }
                let expired = timer
                    .as_mut()
                    .is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
                if expired {
                    Poll::Ready(Err(Error::Timeout(timeout)))
                } else {
                    Poll::Pending
                }
            })
            .await;
            // A taken answer left the table (the session's end and the
            // session's timer, which cancels what it expires, answer too),
            // as did a send that failed; only its own timeout leaves the
            // call in it, to forget and cancel.
            guard.answered = !matches!(result, Err(Error::Timeout(_)));
            drop(guard);
            result
        }
    }
}

/// Records a call's outcome in the metrics (`now` is when it began), and
/// hands it on.
fn made<R>(method: &str, outcome: Result<R, Error>, now: Instant) -> Result<R, Error> {
    record::call_made(
        method,
        outcome.as_ref().map(drop).map_err(Error::kind),
        Started::at(now),
    );
    outcome
}

/// A deadline `timeout` from now, with the timeout, for
/// [`Peer::request`].
fn after(timeout: Duration) -> (Instant, Duration) {
    (crate::deadline::after(timeout), timeout)
}

/// Forgets a pending call when its future ends; if it was still waiting
/// (timeout or drop), asks the peer to stop the handler.
struct CancelOnDrop<'a> {
    shared: &'a Shared,
    id: u64,
    answered: bool,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if self.answered || !self.shared.pending.forget(self.id) {
            return;
        }
        tracing::debug!(id = self.id, "call abandoned; cancelling it at the peer");
        self.shared.control().cancel(self.id);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::super::tests::over_memory;
    use crate::{CallOptions, Error, config::SessionConfig};

    /// Calls to a peer that never answers, each with a timeout of `secs`:
    /// how each ended, and after how long.
    async fn timed(peer: super::Peer, secs: u64) -> (Result<(), Error>, Duration) {
        let started = Instant::now();
        let options = CallOptions::default().timeout(Duration::from_secs(secs));
        let outcome = peer.call_with::<_, ()>("never", &(), options).await;
        (outcome, started.elapsed())
    }

    fn expired_after(ended: &(Result<(), Error>, Duration), secs: u64) {
        let limit = Duration::from_secs(secs);
        assert!(
            matches!(ended.0, Err(Error::Timeout(t)) if t == limit),
            "{:?}",
            ended.0
        );
        assert!(
            ended.1 >= limit && ended.1 < limit + Duration::from_millis(10),
            "ended after {:?}",
            ended.1
        );
    }

    #[tokio::test(start_paused = true)]
    async fn calls_with_timeouts_under_the_default_expire_on_time_watched_or_not() {
        let config = SessionConfig::default().call_timeout(Duration::from_secs(10));
        let (session, _unread) = over_memory(config, 64);
        let peer = session.peer();

        // Alone, a shorter timeout is the session timer's to watch.
        expired_after(&timed(peer.clone(), 2).await, 2);
        // Behind a call with the default timeout, a shorter one's deadline
        // comes first, out of the timer's order: it keeps its own time. A
        // longer one than the default keeps its own time too.
        let default = tokio::spawn(timed(peer.clone(), 10));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (shorter, longer) = tokio::join!(timed(peer.clone(), 3), timed(peer.clone(), 12));
        expired_after(&shorter, 3);
        expired_after(&longer, 12);
        expired_after(&default.await.unwrap(), 10);
        assert!(!session.is_closed());
    }
}
