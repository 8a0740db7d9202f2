//! [`Caller`]: what a typed stub calls through. A [`Peer`] (one session), a
//! [`ReconnectingClient`](crate::ReconnectingClient) (a session replaced
//! whenever the link drops) and a [`Pool`](crate::Pool) (several of them)
//! all implement it, so one stub value works with each and keeps working
//! across reconnects.

use std::{fmt, future::Future};

use futures_util::Stream;
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    error::Error,
    session::{CallOptions, Peer},
    stream::{BidiStream, Incoming, StreamOptions},
};

/// Something to call a remote router through: the methods of [`Peer`] that
/// typed stubs use, each with per-call options.
///
/// Arguments are borrowed for the whole call (a reconnecting caller
/// encodes them again when it retries an idempotent call), so they must be
/// `Sync` for the call's future to be `Send`.
pub trait Caller: Clone + fmt::Debug + Send + Sync + 'static {
    /// Calls `method` with `args` and decodes the answer as `R`, as
    /// [`Peer::call_with`].
    fn call_with<A, R>(
        &self,
        method: &str,
        args: &A,
        options: CallOptions,
    ) -> impl Future<Output = Result<R, Error>> + Send
    where
        A: Serialize + ?Sized + Sync,
        R: DeserializeOwned;

    /// Sends `method` with `args` and no reply, as [`Peer::cast_with`].
    fn cast_with<A>(
        &self,
        method: &str,
        args: &A,
        options: CallOptions,
    ) -> impl Future<Output = Result<(), Error>> + Send
    where
        A: Serialize + ?Sized + Sync;

    /// Opens a server stream, as [`Peer::open`].
    fn open<A, T>(
        &self,
        method: &str,
        args: &A,
        options: StreamOptions,
    ) -> impl Future<Output = Result<Incoming<T>, Error>> + Send
    where
        A: Serialize + ?Sized + Sync,
        T: DeserializeOwned;

    /// Opens a bidirectional stream, as [`Peer::open_bidi`].
    fn open_bidi<A, U, T, S>(
        &self,
        method: &str,
        args: &A,
        uploads: S,
        options: StreamOptions,
    ) -> impl Future<Output = Result<BidiStream<T>, Error>> + Send
    where
        A: Serialize + ?Sized + Sync,
        U: Serialize + Send + 'static,
        T: DeserializeOwned,
        S: Stream<Item = U> + Send + 'static;

    /// Streams `uploads` to `method` and waits for its one answer, as
    /// [`Peer::call_with_upload`].
    fn call_with_upload<A, U, R, S>(
        &self,
        method: &str,
        args: &A,
        uploads: S,
        options: StreamOptions,
    ) -> impl Future<Output = Result<R, Error>> + Send
    where
        A: Serialize + ?Sized + Sync,
        U: Serialize + Send + 'static,
        R: DeserializeOwned,
        S: Stream<Item = U> + Send + 'static;
}

impl Caller for Peer {
    fn call_with<A, R>(
        &self,
        method: &str,
        args: &A,
        options: CallOptions,
    ) -> impl Future<Output = Result<R, Error>> + Send
    where
        A: Serialize + ?Sized + Sync,
        R: DeserializeOwned,
    {
        Peer::call_with(self, method, args, options)
    }

    fn cast_with<A>(
        &self,
        method: &str,
        args: &A,
        options: CallOptions,
    ) -> impl Future<Output = Result<(), Error>> + Send
    where
        A: Serialize + ?Sized + Sync,
    {
        Peer::cast_with(self, method, args, options)
    }

    fn open<A, T>(
        &self,
        method: &str,
        args: &A,
        options: StreamOptions,
    ) -> impl Future<Output = Result<Incoming<T>, Error>> + Send
    where
        A: Serialize + ?Sized + Sync,
        T: DeserializeOwned,
    {
        Peer::open(self, method, args, options)
    }

    fn open_bidi<A, U, T, S>(
        &self,
        method: &str,
        args: &A,
        uploads: S,
        options: StreamOptions,
    ) -> impl Future<Output = Result<BidiStream<T>, Error>> + Send
    where
        A: Serialize + ?Sized + Sync,
        U: Serialize + Send + 'static,
        T: DeserializeOwned,
        S: Stream<Item = U> + Send + 'static,
    {
        Peer::open_bidi(self, method, args, uploads, options)
    }

    fn call_with_upload<A, U, R, S>(
        &self,
        method: &str,
        args: &A,
        uploads: S,
        options: StreamOptions,
    ) -> impl Future<Output = Result<R, Error>> + Send
    where
        A: Serialize + ?Sized + Sync,
        U: Serialize + Send + 'static,
        R: DeserializeOwned,
        S: Stream<Item = U> + Send + 'static,
    {
        Peer::call_with_upload(self, method, args, uploads, options)
    }
}
