//! What crosses the bus: an envelope (a small postcard header, then the
//! notify frame exactly as the sending node encoded it) and presence
//! notices. The frame is encoded once per broadcast and the header decoded
//! once per receiving node; the frame itself is sliced, never copied, on
//! the receiving side.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use crate::push::{Audience, Priority, PushOptions, PushPolicy};

/// Version of the envelope layout; a node drops envelopes of another one
/// (with a bounded warning) rather than misreading them.
const VERSION: u8 = 1;

/// Whom an envelope is for, on every node that receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Target {
    /// Every session.
    All,
    /// Sessions tagged `key=value`.
    Tag(String, String),
    /// Sessions whose identity has this subject.
    Identity(String),
    /// One session of the node the envelope was sent to.
    Session(u64),
}

impl Target {
    pub(crate) fn from_audience(audience: Audience<'_>) -> Self {
        match audience {
            Audience::All => Self::All,
            Audience::Tag(key, value) => Self::Tag(key.to_owned(), value.to_owned()),
            Audience::Identity(subject) => Self::Identity(subject.to_owned()),
        }
    }

    pub(crate) fn audience(&self) -> Option<Audience<'_>> {
        match self {
            Self::All => Some(Audience::All),
            Self::Tag(key, value) => Some(Audience::Tag(key, value)),
            Self::Identity(subject) => Some(Audience::Identity(subject)),
            Self::Session(_) => None,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    version: u8,
    origin: String,
    target: Target,
    high: bool,
    policy: u8,
}

/// A decoded envelope: the frame is a slice of the received payload.
#[derive(Debug)]
pub(crate) struct Envelope {
    pub(crate) origin: String,
    pub(crate) target: Target,
    pub(crate) options: PushOptions,
    pub(crate) frame: Bytes,
}

/// Why a payload from the bus was not an envelope or a notice.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EnvelopeError {
    #[error("malformed bus message")]
    Malformed(#[source] postcard::Error),
    #[error("bus message of version {0}, this node reads version {VERSION}")]
    Version(u8),
}

fn policy_code(policy: PushPolicy) -> u8 {
    match policy {
        PushPolicy::Wait | PushPolicy::Fail => 0,
        PushPolicy::DropNewest => 1,
        PushPolicy::DropOldest => 2,
        PushPolicy::DeadLetter => 3,
    }
}

fn policy_from(code: u8) -> PushPolicy {
    match code {
        1 => PushPolicy::DropNewest,
        2 => PushPolicy::DropOldest,
        3 => PushPolicy::DeadLetter,
        _ => PushPolicy::Fail,
    }
}

/// Wraps an encoded notify `frame` for `target`.
pub(crate) fn encode(origin: &str, target: Target, options: PushOptions, frame: &[u8]) -> Bytes {
    let header = Header {
        version: VERSION,
        origin: origin.to_owned(),
        target,
        high: options.priority == Priority::High,
        policy: policy_code(options.policy),
    };
    // Headers are a few dozen bytes; a longer node name or tag only makes
    // the buffer grow.
    let mut out = postcard::to_extend(&header, BytesMut::with_capacity(frame.len() + 64))
        .expect("a header always encodes");
    out.put_slice(frame);
    out.freeze()
}

/// Reads an envelope; the frame shares `payload`'s memory.
pub(crate) fn decode(payload: &Bytes) -> Result<Envelope, EnvelopeError> {
    let (header, rest) =
        postcard::take_from_bytes::<Header>(payload).map_err(EnvelopeError::Malformed)?;
    if header.version != VERSION {
        return Err(EnvelopeError::Version(header.version));
    }
    let frame = payload.slice(payload.len() - rest.len()..);
    Ok(Envelope {
        origin: header.origin,
        target: header.target,
        options: PushOptions::default()
            .priority(if header.high {
                Priority::High
            } else {
                Priority::Low
            })
            .policy(policy_from(header.policy)),
        frame,
    })
}

/// A node's presence changed: the sessions with an identity that arrived
/// and left since its last notice, and nodes whose presence it found
/// expired (and removed).
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Notice {
    pub(crate) origin: String,
    pub(crate) joined: Vec<(u64, String)>,
    pub(crate) left: Vec<(u64, String)>,
    pub(crate) expired: Vec<String>,
}

impl Notice {
    pub(crate) fn encode(&self) -> Bytes {
        let mut out = vec![VERSION];
        out.extend(postcard::to_allocvec(self).expect("a notice always encodes"));
        out.into()
    }

    pub(crate) fn decode(payload: &[u8]) -> Result<Self, EnvelopeError> {
        match payload.split_first() {
            Some((&VERSION, rest)) => postcard::from_bytes(rest).map_err(EnvelopeError::Malformed),
            Some((&version, _)) => Err(EnvelopeError::Version(version)),
            None => Err(EnvelopeError::Malformed(
                postcard::Error::DeserializeUnexpectedEnd,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_carries_target_options_and_the_frame_unchanged() {
        let frame = Bytes::from_static(b"\x05notify-frame-bytes");
        let options = PushOptions::default()
            .priority(Priority::High)
            .policy(PushPolicy::DropOldest);
        let wire = encode(
            "node-a",
            Target::Tag("room".into(), "rust".into()),
            options,
            &frame,
        );
        let envelope = decode(&wire).unwrap();
        assert_eq!(envelope.origin, "node-a");
        assert_eq!(envelope.target, Target::Tag("room".into(), "rust".into()));
        assert_eq!(envelope.options, options);
        assert_eq!(envelope.frame, frame);
        // The frame is a view of the received bytes, not a copy.
        assert_eq!(
            envelope.frame.as_ptr(),
            wire[wire.len() - frame.len()..].as_ptr()
        );
    }

    #[test]
    fn garbage_and_other_versions_are_refused() {
        assert!(matches!(
            decode(&Bytes::from_static(b"")),
            Err(EnvelopeError::Malformed(_))
        ));
        let mut wire = encode("a", Target::All, PushOptions::default(), b"x").to_vec();
        wire[0] = 9;
        assert!(matches!(
            decode(&Bytes::from(wire)),
            Err(EnvelopeError::Version(9))
        ));
        assert!(matches!(
            Notice::decode(&[2, 0]),
            Err(EnvelopeError::Version(2))
        ));
    }

    #[test]
    fn a_notice_round_trips() {
        let notice = Notice {
            origin: "b".into(),
            joined: vec![(1, "alice".into())],
            left: vec![(2, "bob".into())],
            expired: vec!["c".into()],
        };
        assert_eq!(Notice::decode(&notice.encode()).unwrap(), notice);
    }
}
