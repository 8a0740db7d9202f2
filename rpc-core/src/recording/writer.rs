//! The writer task of one recording: empties the tap's queue, formats the
//! lines and writes them through a buffer. File I/O goes through
//! `tokio::fs`, which runs each write on the blocking pool, so neither the
//! session nor the runtime's workers wait on the disk. The buffer is
//! flushed when it fills, [`FLUSH_AFTER`] after its first unwritten line,
//! and at the end.

use std::{
    path::PathBuf,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use tokio::{
    fs::File,
    io::{AsyncWriteExt, BufWriter},
    sync::mpsc,
    time::Instant,
};

use super::{
    RecordedSide, Recording, line,
    tap::{Entry, Shared, now},
};
use crate::{codec, protocol::Frame};

/// Longest a written line waits in the buffer before it reaches the file.
const FLUSH_AFTER: Duration = Duration::from_millis(100);

/// Bytes kept free under `max_file_bytes` for the last line.
const STOP_LINE: u64 = 128;

/// Entries a client keeps before its `Welcome` names the file: its `Hello`.
const EARLY: usize = 16;

/// Runs until the tap is gone (the session ended) or the recording stops.
pub(super) async fn run(
    mut rx: mpsc::Receiver<Entry>,
    recording: Recording,
    side: RecordedSide,
    session: Option<u64>,
    shared: Arc<Shared>,
) {
    // A client learns its session id from the server's `Welcome`.
    let mut early = Vec::new();
    let session = match session {
        Some(id) => id,
        None => loop {
            let Some(entry) = rx.recv().await else {
                return; // the handshake failed: nothing worth a file
            };
            let welcome = welcome_id(&entry);
            if early.len() < EARLY {
                early.push(entry);
            }
            if let Some(id) = welcome {
                break id;
            }
        },
    };
    let path = file_name(&recording.dir, side, session);
    let file = match open(&recording.dir, &path).await {
        Ok(file) => file,
        Err(err) => {
            tracing::warn!(path = %path.display(), error = %err, "cannot record the session");
            shared.stopped.store(true, Ordering::Relaxed);
            return;
        }
    };
    let mut out = Output {
        file: BufWriter::with_capacity(64 << 10, file),
        written: 0,
        unflushed: None,
        recording,
        shared,
    };
    let result = async {
        out.line(&line::header(now(), side, Some(session))).await?;
        for entry in early {
            if !out.entry(entry).await? {
                return Ok(());
            }
        }
        loop {
            let next = if let Some(since) = out.unflushed {
                let Ok(next) = tokio::time::timeout_at(since + FLUSH_AFTER, rx.recv()).await else {
                    out.flush().await?;
                    continue;
                };
                next
            } else {
                rx.recv().await
            };
            let Some(entry) = next else { break };
            if !out.entry(entry).await? {
                return Ok(());
            }
        }
        let dropped = out.shared.dropped_at_end.load(Ordering::Relaxed);
        if dropped > 0 {
            out.line(&line::dropped(now(), dropped)).await?;
        }
        out.flush().await
    }
    .await;
    if let Err(err) = result {
        tracing::warn!(path = %path.display(), error = %err, "recording stopped: the file could not be written");
        out.shared.stopped.store(true, Ordering::Relaxed);
    }
}

/// `<dir>/<id>.jsonl` for a server's session, `<dir>/client-<id>.jsonl`
/// for a client's.
fn file_name(dir: &std::path::Path, side: RecordedSide, session: u64) -> PathBuf {
    match side {
        RecordedSide::Server => dir.join(format!("{session}.jsonl")),
        RecordedSide::Client => dir.join(format!("client-{session}.jsonl")),
    }
}

async fn open(dir: &std::path::Path, path: &std::path::Path) -> std::io::Result<File> {
    tokio::fs::create_dir_all(dir).await?;
    File::create(path).await
}

/// The session id a `Welcome` message carries.
fn welcome_id(entry: &Entry) -> Option<u64> {
    let Entry::Message { bytes, .. } = entry else {
        return None;
    };
    match codec::decode(bytes, usize::MAX).ok()?.frame {
        Frame::Welcome(welcome) => Some(welcome.session_id),
        _ => None,
    }
}

/// The file being written and its bounds.
struct Output {
    file: BufWriter<File>,
    written: u64,
    /// When the oldest line not yet flushed was written.
    unflushed: Option<Instant>,
    recording: Recording,
    shared: Arc<Shared>,
}

impl Output {
    /// Writes `entry`'s line; `false` once the file is full, after its last
    /// line.
    async fn entry(&mut self, entry: Entry) -> std::io::Result<bool> {
        let json = match entry {
            Entry::Message { ts, dir, bytes } => {
                line::message(ts, dir, &bytes, self.recording.max_bytes_per_frame).to_json()
            }
            Entry::Close { ts, dir, reason } => line::close(ts, dir, &reason).to_json(),
            Entry::Dropped { ts, count } => line::dropped(ts, count).to_json(),
        };
        let len = json.len() as u64;
        if self.written + len + STOP_LINE > self.recording.max_file_bytes {
            self.shared.stopped.store(true, Ordering::Relaxed);
            let why = format!(
                "the file reached max_file_bytes ({})",
                self.recording.max_file_bytes
            );
            self.write(line::stopped(now(), why).to_json().as_bytes())
                .await?;
            self.flush().await?;
            return Ok(false);
        }
        self.write(json.as_bytes()).await?;
        Ok(true)
    }

    async fn line(&mut self, line: &line::Line<'_>) -> std::io::Result<()> {
        self.write(line.to_json().as_bytes()).await
    }

    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes).await?;
        self.written += bytes.len() as u64;
        self.unflushed.get_or_insert_with(Instant::now);
        Ok(())
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        self.unflushed = None;
        self.file.flush().await
    }
}
