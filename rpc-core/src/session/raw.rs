//! The raw side of [`Peer`]: calls, casts and streams whose arguments and
//! answers are postcard bytes, for a caller without the Rust types (the
//! `rpc` command-line tool, which encodes and decodes by the schemas
//! `discover()` returns).
//!
//! They take the same path as the typed calls (timeouts, slots of the
//! peer's limit, headers, tracing, metrics); only the encoding of the
//! arguments and the decoding of the answer are left to the caller.

use bytes::Bytes;

use super::{CallOptions, Peer};
use crate::{
    codec::Encoded,
    error::Error,
    stream::{RawIncoming, StreamOptions},
};

impl Peer {
    /// Calls `method` with `args`, the postcard encoding of its argument
    /// tuple, and returns the answer's postcard bytes as they came.
    ///
    /// An application error (code 3) is an [`Error::Remote`] whose
    /// [`data`](crate::RemoteError::data) is the encoding of the
    /// handler's error value.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call), but for [`Error::Decode`]: nothing is
    /// decoded here.
    pub async fn call_raw(
        &self,
        method: &str,
        args: Bytes,
        options: CallOptions,
    ) -> Result<Bytes, Error> {
        self.call_payload(method, &Encoded(&args), &options, Ok)
            .await
    }

    /// Sends `method` with `args`, the postcard encoding of its argument
    /// tuple, and no reply; returns once the frame is queued.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`], or [`Error::TooLarge`] for arguments larger than
    /// the peer accepts.
    pub async fn cast_raw(
        &self,
        method: &str,
        args: Bytes,
        options: CallOptions,
    ) -> Result<(), Error> {
        self.cast_payload(method, &Encoded(&args), &options).await
    }

    /// Opens a server stream on `method` with `args`, the postcard encoding
    /// of its argument tuple; the items come as their postcard bytes.
    /// Returns once the callee accepted the stream, as
    /// [`open`](Self::open) does.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open). Errors after the stream started arrive as
    /// its last item.
    pub async fn open_raw(
        &self,
        method: &str,
        args: Bytes,
        options: StreamOptions,
    ) -> Result<RawIncoming, Error> {
        let (incoming, _upload_credit) = self.start(method, &Encoded(&args), &options).await?;
        Ok(RawIncoming::new(incoming))
    }
}
