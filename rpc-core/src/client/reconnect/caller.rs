//! [`Caller`] for [`ReconnectingClient`]: each request goes through the
//! connection that is up, and is sent again on the next one when it
//! certainly never left, or when it is idempotent.

use futures_util::Stream;
use serde::{Serialize, de::DeserializeOwned};
use tokio::time::Instant;

use super::ReconnectingClient;
use crate::{
    caller::Caller,
    error::Error,
    protocol::OPERATION_ID_HEADER,
    session::CallOptions,
    stream::{BidiStream, Incoming, StreamOptions},
};

impl ReconnectingClient {
    /// When a request of `timeout` (or the session's call timeout) started
    /// now must be over.
    fn deadline(&self, timeout: Option<std::time::Duration>) -> Instant {
        crate::deadline::after(timeout.unwrap_or(self.shared.call_timeout))
    }
}

/// Gives an idempotent call its operation id, once: every attempt carries
/// the same one, so that the server runs it at most once.
pub(in crate::client) fn with_operation_id(mut options: CallOptions) -> CallOptions {
    if options.idempotent
        && !options
            .headers
            .iter()
            .any(|(name, _)| name == OPERATION_ID_HEADER)
    {
        let id = format!("{:032x}", rand::random::<u128>());
        options.headers.push((OPERATION_ID_HEADER.to_owned(), id));
    }
    options
}

impl Caller for ReconnectingClient {
    async fn call_with<A, R>(
        &self,
        method: &str,
        args: &A,
        options: CallOptions,
    ) -> Result<R, Error>
    where
        A: Serialize + ?Sized + Sync,
        R: DeserializeOwned,
    {
        let deadline = self.deadline(options.timeout);
        let options = with_operation_id(options);
        loop {
            let peer = self.wait_for_peer(deadline, false).await?;
            let left = deadline.saturating_duration_since(Instant::now());
            let attempt = peer.call_with(method, args, options.clone().timeout(left));
            match self.shared.health.track(method, attempt).await {
                // Never sent: the connection was going; the next one takes it.
                Err(Error::Closed(_)) => {}
                Err(Error::Indeterminate(_)) if options.idempotent => {
                    tracing::debug!(
                        method,
                        "connection lost mid-call; retrying the idempotent call"
                    );
                }
                outcome => return outcome,
            }
        }
    }

    async fn cast_with<A>(&self, method: &str, args: &A, options: CallOptions) -> Result<(), Error>
    where
        A: Serialize + ?Sized + Sync,
    {
        let deadline = self.deadline(options.timeout);
        loop {
            let peer = self.wait_for_peer(deadline, false).await?;
            match peer.cast_with(method, args, options.clone()).await {
                Err(Error::Closed(_)) => {}
                outcome => return outcome,
            }
        }
    }

    async fn open<A, T>(
        &self,
        method: &str,
        args: &A,
        options: StreamOptions,
    ) -> Result<Incoming<T>, Error>
    where
        A: Serialize + ?Sized + Sync,
        T: DeserializeOwned,
    {
        let deadline = self.deadline(options.idle_timeout);
        loop {
            let peer = self.wait_for_peer(deadline, false).await?;
            let attempt = peer.open(method, args, options.clone());
            match self.shared.health.track(method, attempt).await {
                Err(Error::Closed(_)) => {}
                outcome => return outcome,
            }
        }
    }

    async fn open_bidi<A, U, T, S>(
        &self,
        method: &str,
        args: &A,
        uploads: S,
        options: StreamOptions,
    ) -> Result<BidiStream<T>, Error>
    where
        A: Serialize + ?Sized + Sync,
        U: Serialize + Send + 'static,
        T: DeserializeOwned,
        S: Stream<Item = U> + Send + 'static,
    {
        // The uploads go with the first attempt: no retry.
        let peer = self
            .wait_for_peer(self.deadline(options.idle_timeout), false)
            .await?;
        peer.open_bidi(method, args, uploads, options).await
    }

    async fn call_with_upload<A, U, R, S>(
        &self,
        method: &str,
        args: &A,
        uploads: S,
        options: StreamOptions,
    ) -> Result<R, Error>
    where
        A: Serialize + ?Sized + Sync,
        U: Serialize + Send + 'static,
        R: DeserializeOwned,
        S: Stream<Item = U> + Send + 'static,
    {
        let peer = self
            .wait_for_peer(self.deadline(options.idle_timeout), false)
            .await?;
        peer.call_with_upload(method, args, uploads, options).await
    }
}
