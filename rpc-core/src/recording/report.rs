//! What a replay found: each recorded request with its answers then and
//! now, compared byte for byte, and printed for a test's failure message.

use std::fmt;

use bytes::Bytes;

use super::line;

/// One message answering a request: a reply, an error, a stream's items and
/// end, a discover answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Answer {
    /// Its frame kind (`reply`, `error`, `item`, ...).
    pub kind: String,
    /// A few words on it, as in a recording line.
    pub summary: String,
    /// Its length in bytes.
    pub len: usize,
    /// The whole message: frame and payload (only its head when the
    /// recording cut it).
    pub bytes: Bytes,
    /// Whether the recording cut the message to its head.
    pub truncated: bool,
}

impl Answer {
    pub(super) fn new(message: Bytes, truncated: bool, len: usize) -> Self {
        let described = line::describe(&message);
        Self {
            kind: described.kind.to_owned(),
            summary: described.summary,
            len,
            bytes: message,
            truncated,
        }
    }

    /// Same message; a recorded head is compared as far as it goes.
    pub(super) fn same(&self, other: &Answer) -> bool {
        if self.truncated || other.truncated {
            let head = self.bytes.len().min(other.bytes.len());
            return self.len == other.len && self.bytes[..head] == other.bytes[..head];
        }
        self.bytes == other.bytes
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}) [", self.kind, self.summary)?;
        for (i, byte) in self.bytes.iter().take(32).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{byte:02x}")?;
        }
        if self.bytes.len() > 32 {
            f.write_str(" ..")?;
        }
        f.write_str("]")
    }
}

/// A request of the recording (a call, stream or discover), with what the
/// server answered then and now.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReplayedCall {
    /// The request's id, as recorded and replayed.
    pub id: u64,
    /// `call`, `open` or `discover`.
    pub kind: String,
    /// The method called (none for discover).
    pub method: Option<String>,
    /// The answers in the recording, in order.
    pub recorded: Vec<Answer>,
    /// The answers of the replay, in order.
    pub replayed: Vec<Answer>,
}

impl ReplayedCall {
    /// Whether the replay answered with the same messages.
    pub fn matches(&self) -> bool {
        self.recorded.len() == self.replayed.len()
            && self
                .recorded
                .iter()
                .zip(&self.replayed)
                .all(|(recorded, replayed)| recorded.same(replayed))
    }
}

impl fmt::Display for ReplayedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} `{}`: ",
            self.kind,
            self.id,
            self.method.as_deref().unwrap_or("")
        )?;
        list(f, "recorded", &self.recorded)?;
        f.write_str("; ")?;
        list(f, "replayed", &self.replayed)
    }
}

fn list(f: &mut fmt::Formatter<'_>, what: &str, answers: &[Answer]) -> fmt::Result {
    write!(f, "{what} ")?;
    if answers.is_empty() {
        return f.write_str("nothing");
    }
    for (i, answer) in answers.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{answer}")?;
    }
    Ok(())
}

/// What a replay found: each recorded request with its recorded and
/// replayed answers.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReplayReport {
    /// Every call, stream and discover of the recording, in the order they
    /// were sent.
    pub calls: Vec<ReplayedCall>,
    /// Casts and notifications sent (they have no answer to compare).
    pub casts: usize,
    /// Error frames of id 0 (refused or failed casts) in the recording.
    pub recorded_refusals: Vec<Answer>,
    /// Error frames of id 0 the replay got.
    pub refusals: Vec<Answer>,
    /// Inbound messages not sent again because the recording kept only
    /// their head.
    pub skipped: usize,
    /// Messages the recording left out (its queue was full): answers may
    /// differ for want of them.
    pub dropped: u64,
}

impl ReplayReport {
    /// Whether every request got the recorded answers, and casts the
    /// recorded refusals.
    pub fn all_match(&self) -> bool {
        self.mismatches().next().is_none()
            && self.recorded_refusals.len() == self.refusals.len()
            && self
                .recorded_refusals
                .iter()
                .zip(&self.refusals)
                .all(|(recorded, replayed)| recorded.same(replayed))
    }

    /// The requests whose answers differ.
    pub fn mismatches(&self) -> impl Iterator<Item = &ReplayedCall> {
        self.calls.iter().filter(|call| !call.matches())
    }
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let differ = self.mismatches().count();
        write!(
            f,
            "replayed {} requests and {} casts: {differ} answered differently",
            self.calls.len(),
            self.casts
        )?;
        for call in self.mismatches() {
            write!(f, "\n  {call}")?;
        }
        if self.recorded_refusals.len() != self.refusals.len() {
            write!(
                f,
                "\n  {} refusals of id 0 recorded, {} replayed",
                self.recorded_refusals.len(),
                self.refusals.len()
            )?;
        }
        if self.dropped > 0 {
            write!(f, "\n  the recording left out {} messages", self.dropped)?;
        }
        Ok(())
    }
}
