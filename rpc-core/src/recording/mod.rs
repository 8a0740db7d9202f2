//! Session recording: every message of a session, both ways, as JSON Lines
//! in a file, so that a bug seen in production can be replayed in a test.
//!
//! - `line`: the file format (one JSON object a line), written and read
//!   back by the same type.
//! - `tap`: a transport around the session's own that copies each message
//!   (a `Bytes` clone) into a bounded queue, never waiting: a full queue
//!   drops the copy and counts it.
//! - `writer`: the task that empties the queue, formats the lines and
//!   writes them, off the session's reader and writer.
//! - `read`, `plan`, `replay`, `report`: reading a recording back, sorting
//!   it for replay, running its inbound messages against a server's
//!   routers ([`crate::testing::replay`]), and what that found.
//!
//! The tap sits at the transport seam, under the handshake, so the file
//! holds `Hello` and `Welcome` too; WebSocket pings and pongs are not
//! recorded.

mod line;
mod plan;
mod read;
mod replay;
mod report;
mod tap;
mod writer;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{config::SessionConfig, transport::BoxTransport};

pub use read::{Recorded, RecordedFrame};
pub use replay::{JsonError, ReplayError, replay};
pub use report::{Answer, ReplayReport, ReplayedCall};

/// Where and within which bounds a session is recorded
/// ([`SessionConfig::record`]). A server writes each session to
/// `<dir>/<session id>.jsonl`, a client to `<dir>/client-<session id>.jsonl`;
/// an existing file of that name is replaced. The format is described in
/// `docs/recording.md`.
///
/// Recording never makes a session wait: each message is copied into a
/// queue of [`queue`](Self::queue) entries that a task of its own writes
/// out, and a message that finds the queue full is left out and counted
/// (a `{"dropped": n}` line marks the gap).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recording {
    /// The folder the files go in; created if missing. No default: given
    /// to [`Recording::new`].
    pub dir: PathBuf,
    /// Messages waiting to be written at most (0 counts as 1); past it a
    /// message is left out of the file and counted. Default: 4096.
    pub queue: usize,
    /// Size of one file at most, in bytes; the line that would pass it is
    /// replaced by a last `{"stopped": ..}` line and the rest of the session
    /// is not recorded. Default: 64 MiB.
    pub max_file_bytes: u64,
    /// Bytes of one message kept in its line's `bytes`; a longer message
    /// keeps its first this many, with `"truncated": true` (replay skips
    /// it). The other fields describe the whole message. Default: 1 MiB.
    pub max_bytes_per_frame: usize,
}

impl Recording {
    /// Records into `dir`, with the default bounds.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            queue: 4096,
            max_file_bytes: 64 << 20,
            max_bytes_per_frame: 1 << 20,
        }
    }

    /// Sets [`queue`](Self::queue).
    pub fn queue(mut self, messages: usize) -> Self {
        self.queue = messages;
        self
    }

    /// Sets [`max_file_bytes`](Self::max_file_bytes).
    pub fn max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    /// Sets [`max_bytes_per_frame`](Self::max_bytes_per_frame).
    pub fn max_bytes_per_frame(mut self, bytes: usize) -> Self {
        self.max_bytes_per_frame = bytes;
        self
    }
}

/// Which way a recorded message went, seen from the recording side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Direction {
    /// Received from the peer (`"in"`).
    In,
    /// Sent to the peer (`"out"`).
    Out,
}

/// Which end of the connection made a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RecordedSide {
    /// The server's session (`"server"`): its inbound messages are the
    /// client's requests, which [`replay`] sends again.
    Server,
    /// A client's session (`"client"`).
    Client,
}

/// Wraps `ws` in a recording tap when `config` asks for one. `session` is
/// the id when it is known before the handshake (a server's); a client's
/// recording is named from the `Welcome` it receives.
pub(crate) fn tap(
    ws: BoxTransport,
    config: &SessionConfig,
    side: RecordedSide,
    session: Option<u64>,
) -> BoxTransport {
    match &config.record {
        Some(recording) => Box::new(tap::Tap::new(ws, recording, side, session)),
        None => ws,
    }
}
