//! Reading a recording back: the lines of a file as [`RecordedFrame`]s, for
//! [`replay`](super::replay) or for a test that plays a peer itself.

use std::{io::BufRead, path::Path};

use bytes::Bytes;

use super::{
    Direction, RecordedSide,
    line::{self, Line},
    replay::{JsonError, ReplayError},
};

/// A recording read back from its file.
///
/// ```no_run
/// # extern crate rpc_core as rpc;
/// use rpc::testing::Recorded;
///
/// # fn main() -> Result<(), rpc::testing::ReplayError> {
/// let recorded = Recorded::open("recordings/7.jsonl")?;
/// for frame in recorded.inbound() {
///     println!("{} {:?} {:?}", frame.kind, frame.id, frame.method);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Recorded {
    /// The side that recorded, from the file's first line.
    pub side: Option<RecordedSide>,
    /// The session id, from the file's first line.
    pub session: Option<u64>,
    /// Every recorded message and close, in the order the recording side
    /// saw them.
    pub frames: Vec<RecordedFrame>,
    /// Messages left out because the recorder's queue was full (the sum of
    /// the file's `dropped` lines).
    pub dropped: u64,
    /// Why recording stopped before the session ended, if it did (the
    /// file's `stopped` line).
    pub stopped: Option<String>,
}

/// One recorded message (or close frame).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedFrame {
    /// When the recording side saw it: microseconds since the Unix epoch.
    pub ts: u64,
    /// Received from the peer, or sent to it.
    pub dir: Direction,
    /// The frame kind: `call`, `reply`, ... (the protocol's names), or
    /// `close` for a WebSocket close frame, `malformed` for a message that
    /// did not decode.
    pub kind: String,
    /// The id the frame carries, when its kind has one.
    pub id: Option<u64>,
    /// The method of a call, cast or open; the topic of a notify.
    pub method: Option<String>,
    /// A few words on the frame: headers, credit, an error's code and
    /// message (clipped), a close's code and reason.
    pub summary: String,
    /// Length of the whole message, in bytes.
    pub len: usize,
    /// The message as sent on the wire (empty for a close); only its head
    /// when [`truncated`](Self::truncated).
    pub bytes: Bytes,
    /// Whether `bytes` was cut to the recording's `max_bytes_per_frame`.
    pub truncated: bool,
}

impl Recorded {
    /// Reads the recording at `path`.
    ///
    /// # Errors
    ///
    /// [`ReplayError::Io`] when the file cannot be read,
    /// [`ReplayError::Line`] for a line that is not a recording line.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReplayError> {
        let file = std::fs::File::open(path).map_err(ReplayError::Io)?;
        Self::read(std::io::BufReader::new(file))
    }

    /// Reads a recording from `reader`, one JSON object a line.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn read(reader: impl BufRead) -> Result<Self, ReplayError> {
        let mut recorded = Recorded::default();
        for (index, text) in reader.lines().enumerate() {
            let number = index + 1;
            let text = text.map_err(ReplayError::Io)?;
            if text.trim().is_empty() {
                continue;
            }
            let line: Line<'_> =
                serde_json::from_str(&text).map_err(|source| ReplayError::Line {
                    line: number,
                    source: JsonError(source),
                })?;
            recorded.push(number, line)?;
        }
        Ok(recorded)
    }

    fn push(&mut self, number: usize, line: Line<'_>) -> Result<(), ReplayError> {
        if line.recording.is_some() {
            self.side = line.side;
            self.session = line.session;
        }
        if let Some(count) = line.dropped {
            self.dropped += count;
        }
        if let Some(why) = line.stopped {
            self.stopped = Some(why.into_owned());
        }
        let (Some(dir), Some(kind)) = (line.dir, line.kind) else {
            return Ok(());
        };
        let bytes = match line.bytes {
            Some(text) => line::decode_bytes(&text).ok_or(ReplayError::Base64 { line: number })?,
            None => Bytes::new(),
        };
        self.frames.push(RecordedFrame {
            ts: line.ts,
            dir,
            kind: kind.into_owned(),
            id: line.id,
            method: line.method.or(line.topic).map(std::borrow::Cow::into_owned),
            summary: line
                .summary
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default(),
            len: line.len.unwrap_or(bytes.len()),
            bytes,
            truncated: line.truncated,
        });
        Ok(())
    }

    /// Every recorded frame, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, RecordedFrame> {
        self.frames.iter()
    }

    /// The frames the recording side received, in order: what a fake peer
    /// sends to reproduce the session.
    pub fn inbound(&self) -> impl Iterator<Item = &RecordedFrame> {
        self.frames
            .iter()
            .filter(|frame| frame.dir == Direction::In)
    }
}

impl<'a> IntoIterator for &'a Recorded {
    type Item = &'a RecordedFrame;
    type IntoIter = std::slice::Iter<'a, RecordedFrame>;

    fn into_iter(self) -> Self::IntoIter {
        self.frames.iter()
    }
}

impl IntoIterator for Recorded {
    type Item = RecordedFrame;
    type IntoIter = std::vec::IntoIter<RecordedFrame>;

    fn into_iter(self) -> Self::IntoIter {
        self.frames.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_frames_gaps_and_the_stop_line() {
        let text = concat!(
            "{\"recording\":1,\"side\":\"server\",\"session\":9,\"ts\":1}\n",
            "{\"ts\":2,\"dir\":\"in\",\"kind\":\"call\",\"id\":1,\"method\":\"add\",\"summary\":\"s\",\"len\":2,\"bytes\":\"AgE=\"}\n",
            "\n",
            "{\"ts\":3,\"dropped\":4}\n",
            "{\"ts\":4,\"dir\":\"out\",\"kind\":\"close\",\"summary\":\"1000 bye\"}\n",
            "{\"ts\":5,\"stopped\":\"full\"}\n",
        );
        let recorded = Recorded::read(text.as_bytes()).unwrap();
        assert_eq!(recorded.side, Some(RecordedSide::Server));
        assert_eq!(recorded.session, Some(9));
        assert_eq!(recorded.dropped, 4);
        assert_eq!(recorded.stopped.as_deref(), Some("full"));
        assert_eq!(recorded.frames.len(), 2);
        let call = &recorded.frames[0];
        assert_eq!(
            (call.kind.as_str(), call.id, call.method.as_deref()),
            ("call", Some(1), Some("add"))
        );
        assert_eq!(call.bytes, Bytes::from_static(&[2, 1]));
        assert_eq!(recorded.inbound().count(), 1);
        assert!(recorded.frames[1].bytes.is_empty());
    }

    #[test]
    fn a_bad_line_is_named_by_its_number() {
        let err = Recorded::read("{\"ts\":1}\nnot json\n".as_bytes()).unwrap_err();
        assert!(matches!(err, ReplayError::Line { line: 2, .. }), "{err:?}");
        let err = Recorded::read(
            "{\"ts\":1,\"dir\":\"in\",\"kind\":\"call\",\"bytes\":\"!!\"}".as_bytes(),
        )
        .unwrap_err();
        assert!(matches!(err, ReplayError::Base64 { line: 1 }), "{err:?}");
    }
}
