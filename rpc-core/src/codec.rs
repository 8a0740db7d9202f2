//! Frame <-> bytes. A message is a postcard-encoded [`Frame`] header, then, for
//! kinds that carry one, the postcard encoding of the payload value up to the
//! end of the message. Decoding borrows from the message; the payload is a
//! zero-copy slice of it.

use std::fmt;

use bytes::Bytes;
use serde::{Serialize, de::DeserializeOwned};

use crate::protocol::{
    Frame,
    bounds::{self, Violation},
};

/// Why bytes could not become a frame or a value, or a value bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The message is larger than the receiver accepts.
    #[error("message of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Size of the message.
        size: usize,
        /// The limit it crossed.
        max: usize,
    },
    /// Bytes were left over after the value that should end the message.
    #[error("{count} unexpected trailing bytes after the {what}")]
    TrailingBytes {
        /// What was decoded before the leftovers.
        what: &'static str,
        /// How many bytes were left.
        count: usize,
    },
    /// A frame header carries more than a protocol bound allows: too many
    /// headers or features, or too long a name (the bounds are in
    /// [`protocol::bounds`](crate::protocol::bounds)). Decoding refuses it
    /// before allocating for it; encoding refuses it before sending it.
    #[error("{what} of {size} exceeds the bound of {max}")]
    OverBound {
        /// What was measured, such as `"header count"`.
        what: &'static str,
        /// What the frame declared or carried.
        size: usize,
        /// The bound.
        max: usize,
    },
    /// The bytes are not a valid encoding of the expected type.
    #[error("malformed {what}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// What postcard reported.
        #[source]
        source: PostcardError,
    },
    /// The value could not be encoded (a `Serialize` impl failed, or a
    /// sequence of unknown length).
    #[error("could not encode the {what}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// What postcard reported.
        #[source]
        source: PostcardError,
    },
}

/// An error reported by the postcard format; opaque so that the format
/// crate's version is not part of this API.
pub struct PostcardError(postcard::Error);

impl fmt::Debug for PostcardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for PostcardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for PostcardError {}

impl From<Violation> for CodecError {
    fn from(violation: Violation) -> Self {
        CodecError::OverBound {
            what: violation.what,
            size: violation.size,
            max: violation.max,
        }
    }
}

/// A decoded message: the header, and the payload bytes that follow it
/// (empty for kinds without a payload).
#[derive(Debug)]
pub struct Decoded<'a> {
    /// The frame header, borrowing strings from the message.
    pub frame: Frame<'a>,
    /// The payload, a slice of the message sharing its allocation.
    pub payload: Bytes,
}

/// Encodes a frame kind that carries no payload.
pub fn encode(frame: &Frame<'_>) -> Result<Bytes, CodecError> {
    debug_assert!(!frame.has_payload(), "use encode_with for {}", frame.kind());
    encoded(|buf| header(frame, buf))
}

/// Encodes a frame followed by the postcard encoding of `payload`, into one
/// buffer.
pub fn encode_with<T: Serialize + ?Sized>(
    frame: &Frame<'_>,
    payload: &T,
) -> Result<Bytes, CodecError> {
    encoded(|buf| {
        postcard::to_extend(payload, header(frame, buf)?).map_err(|source| CodecError::Encode {
            what: "payload",
            source: PostcardError(source),
        })
    })
}

/// Encodes a frame followed by a payload that is already encoded (a cached
/// discover answer, a broadcast encoded once for many sessions).
pub fn encode_raw(frame: &Frame<'_>, payload: &[u8]) -> Result<Bytes, CodecError> {
    encoded(|buf| {
        let mut buf = header(frame, buf)?;
        buf.extend_from_slice(payload);
        Ok(buf)
    })
}

/// What follows a request's frame header: a value to encode
/// ([`Value`]), or bytes encoded already ([`Encoded`]: the raw API of a
/// caller without the Rust types). The typed and raw requests of a
/// [`Peer`](crate::Peer) share one path through it.
pub(crate) trait Payload {
    /// The frame followed by this payload, in one buffer.
    fn after(&self, frame: &Frame<'_>) -> Result<Bytes, CodecError>;
}

/// A value postcard encodes after the header.
pub(crate) struct Value<'a, T: ?Sized>(pub(crate) &'a T);

impl<T: Serialize + ?Sized> Payload for Value<'_, T> {
    fn after(&self, frame: &Frame<'_>) -> Result<Bytes, CodecError> {
        encode_with(frame, self.0)
    }
}

/// Bytes that are a postcard encoding already, sent as they are.
pub(crate) struct Encoded<'a>(pub(crate) &'a [u8]);

impl Payload for Encoded<'_> {
    fn after(&self, frame: &Frame<'_>) -> Result<Bytes, CodecError> {
        encode_raw(frame, self.0)
    }
}

/// Messages up to this size are encoded in the thread's scratch buffer and
/// copied out; larger ones keep the buffer they were encoded in.
const SCRATCH_MAX: usize = 4096;

thread_local! {
    /// Where this thread encodes small messages: reused, so that a message
    /// costs one allocation of its exact size. Growing a fresh buffer and
    /// shrinking it to fit cost two `realloc`s per message, and the pieces
    /// they split off kept `malloc` busy merging them: a tenth of the work
    /// of a small call, both sides counted.
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The bytes `write` appends to an empty buffer, as `Bytes`.
fn encoded(
    write: impl FnOnce(Vec<u8>) -> Result<Vec<u8>, CodecError>,
) -> Result<Bytes, CodecError> {
    // Taken, not borrowed: a payload whose `Serialize` encodes a message
    // itself finds an empty buffer and works all the same.
    let scratch = SCRATCH.with(std::cell::Cell::take);
    let mut buf = write(scratch)?;
    if buf.len() > SCRATCH_MAX {
        return Ok(frozen(buf));
    }
    let bytes = Bytes::copy_from_slice(&buf);
    if buf.capacity() <= SCRATCH_MAX {
        buf.clear();
        SCRATCH.with(|scratch| scratch.set(buf));
    }
    Ok(bytes)
}

/// `Bytes` from an encoded buffer without a second allocation: `Bytes`
/// takes a vector whose length equals its capacity as it is, but boxes a
/// shared header for one with spare room. Shrinking in place is cheaper.
fn frozen(buf: Vec<u8>) -> Bytes {
    Bytes::from(buf.into_boxed_slice())
}

/// `buf` with the frame's header appended.
fn header(frame: &Frame<'_>, buf: Vec<u8>) -> Result<Vec<u8>, CodecError> {
    frame.check_bounds().map_err(CodecError::from)?;
    postcard::to_extend(frame, buf).map_err(|source| CodecError::Encode {
        what: "frame header",
        source: PostcardError(source),
    })
}

/// Decodes one message of at most `max_size` bytes.
///
/// # Errors
///
/// [`CodecError::TooLarge`] before anything is parsed, [`CodecError::OverBound`]
/// for a header over a protocol bound, [`CodecError::Malformed`] for a header
/// that does not decode, [`CodecError::TrailingBytes`] for bytes after a frame
/// kind that carries no payload.
pub fn decode(message: &Bytes, max_size: usize) -> Result<Decoded<'_>, CodecError> {
    if message.len() > max_size {
        return Err(CodecError::TooLarge {
            size: message.len(),
            max: max_size,
        });
    }
    // Every refusal is taken by the decode that made it; clearing first
    // keeps that true even if one on this thread ever unwound half-way.
    bounds::take_violation();
    let (frame, rest) = postcard::take_from_bytes::<Frame<'_>>(message).map_err(|source| {
        match bounds::take_violation() {
            Some(violation) => CodecError::from(violation),
            None => CodecError::Malformed {
                what: "frame header",
                source: PostcardError(source),
            },
        }
    })?;
    if !frame.has_payload() && !rest.is_empty() {
        return Err(CodecError::TrailingBytes {
            what: frame.kind(),
            count: rest.len(),
        });
    }
    let payload = message.slice_ref(rest);
    Ok(Decoded { frame, payload })
}

/// Decodes a payload as `T`, requiring that it uses every byte.
///
/// # Errors
///
/// [`CodecError::Malformed`] or [`CodecError::TrailingBytes`].
pub fn decode_value<T: DeserializeOwned>(payload: &[u8]) -> Result<T, CodecError> {
    let (value, rest) =
        postcard::take_from_bytes::<T>(payload).map_err(|source| CodecError::Malformed {
            what: "payload",
            source: PostcardError(source),
        })?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(CodecError::TrailingBytes {
            what: "payload",
            count: rest.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::protocol::{
        Accepted, Call, Cancel, Cast, Credit, Described, Discover, ErrorCode, ErrorFrame, Fragment,
        Hello, Limits, Notify, Open, Reply, Side, StreamRef, Welcome,
        bounds::{MAX_FEATURES, MAX_HEADER_VALUE, MAX_HEADERS, MAX_NAME},
    };

    const MAX: usize = 1 << 20;

    /// A payload whose encoding encodes a message of its own.
    struct Nested;

    impl Serialize for Nested {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let inner = encode_with(&Frame::Reply(Reply { id: 7 }), &"inner").unwrap();
            serializer.serialize_bytes(&inner)
        }
    }

    #[test]
    fn messages_of_every_size_and_nested_encodings_come_out_whole() {
        let reply = |id| Frame::Reply(Reply { id });
        for size in [0, 10, SCRATCH_MAX - 16, SCRATCH_MAX + 1, 100_000, 3] {
            let text = "x".repeat(size);
            let bytes = encode_with(&reply(1), &text).unwrap();
            let decoded = decode(&bytes, MAX).unwrap();
            assert!(matches!(decoded.frame, Frame::Reply(Reply { id: 1 })));
            assert_eq!(decode_value::<String>(&decoded.payload).unwrap(), text);
        }
        let outer = encode_with(&reply(2), &Nested).unwrap();
        let payload = decode(&outer, MAX).unwrap().payload;
        // postcard writes bytes as a sequence of `u8`s.
        let inner = Bytes::from(decode_value::<Vec<u8>>(&payload).unwrap());
        let decoded = decode(&inner, MAX).unwrap();
        assert!(matches!(decoded.frame, Frame::Reply(Reply { id: 7 })));
        assert_eq!(decode_value::<String>(&decoded.payload).unwrap(), "inner");
    }

    /// Up to 16 characters: at most 64 bytes, the tightest bound on a
    /// name (a feature's), so every frame built from them is valid.
    fn any_str() -> impl Strategy<Value = String> {
        ".{0,16}"
    }

    /// Owned inputs from which every frame kind is built, since `Frame` borrows.
    #[derive(Debug, Clone)]
    struct Parts {
        kind: u8,
        id: u64,
        a: String,
        b: String,
        headers: Vec<(String, String)>,
        code: u16,
        versions: (u16, u16),
        flag: bool,
    }

    fn parts() -> impl Strategy<Value = Parts> {
        (
            0u8..16,
            any::<u64>(),
            any_str(),
            any_str(),
            proptest::collection::vec((any_str(), any_str()), 0..4),
            any::<u16>(),
            (any::<u16>(), any::<u16>()),
            any::<bool>(),
        )
            .prop_map(|(kind, id, a, b, headers, code, versions, flag)| Parts {
                kind,
                id,
                a,
                b,
                headers,
                code,
                versions,
                flag,
            })
    }

    fn frame(p: &Parts) -> Frame<'_> {
        let headers = p
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        match p.kind {
            0 => Frame::Hello(Hello {
                min_version: p.versions.0,
                max_version: p.versions.1,
                features: vec![p.a.clone(), p.b.clone()],
                limits: Limits {
                    max_message_size: u32::from(p.code),
                    max_in_flight: u32::from(p.versions.0),
                    max_reassembly: u32::from(p.versions.1),
                    max_partials: u32::from(p.code),
                },
            }),
            1 => Frame::Welcome(Welcome {
                version: p.versions.0,
                session_id: p.id,
                features: vec![p.a.clone()],
                limits: Limits {
                    max_message_size: u32::from(p.versions.1),
                    max_in_flight: u32::from(p.code),
                    max_reassembly: u32::from(p.versions.0),
                    max_partials: u32::from(p.code),
                },
            }),
            2 => Frame::Call(Call {
                id: p.id,
                method: &p.a,
                headers,
            }),
            3 => Frame::Cast(Cast {
                method: &p.a,
                headers,
            }),
            4 => Frame::Reply(Reply { id: p.id }),
            5 => Frame::Error(ErrorFrame {
                id: p.id,
                code: ErrorCode(p.code),
                message: &p.b,
            }),
            6 => Frame::Notify(Notify { topic: &p.a }),
            7 => Frame::Cancel(Cancel { id: p.id }),
            8 => Frame::Discover(Discover { id: p.id }),
            9 => Frame::Described(Described { id: p.id }),
            10 => Frame::Open(Open {
                id: p.id,
                method: &p.a,
                headers,
                credit: u32::from(p.code),
            }),
            11 => Frame::Item(StreamRef {
                id: p.id,
                to: side(p.flag),
            }),
            12 => Frame::End(StreamRef {
                id: p.id,
                to: side(p.flag),
            }),
            13 => Frame::Credit(Credit {
                id: p.id,
                to: side(p.flag),
                items: u32::from(p.versions.0),
            }),
            14 => Frame::Fragment(Fragment {
                message: p.id,
                last: p.flag,
            }),
            _ => Frame::Accepted(Accepted { id: p.id }),
        }
    }

    fn side(flag: bool) -> Side {
        if flag { Side::Callee } else { Side::Caller }
    }

    proptest! {
        #[test]
        fn every_frame_round_trips(p in parts(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let frame = frame(&p);
            let bytes = if frame.has_payload() {
                encode_with(&frame, &payload).unwrap()
            } else {
                encode(&frame).unwrap()
            };
            let decoded = decode(&bytes, MAX).unwrap();
            prop_assert_eq!(&decoded.frame, &frame);
            if frame.has_payload() {
                prop_assert_eq!(decode_value::<Vec<u8>>(&decoded.payload).unwrap(), payload);
            } else {
                prop_assert!(decoded.payload.is_empty());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let message = Bytes::from(bytes);
            if let Ok(decoded) = decode(&message, MAX) {
                let _ = decode_value::<(u64, String, Vec<(String, i64)>)>(&decoded.payload);
            }
        }
    }

    /// Encodes bypassing the bounds check, as a hostile peer would.
    fn unchecked(frame: &Frame<'_>) -> Bytes {
        Bytes::from(postcard::to_allocvec(frame).unwrap())
    }

    fn over_bound(message: &Bytes) -> (&'static str, usize, usize) {
        match decode(message, usize::MAX) {
            Err(CodecError::OverBound { what, size, max }) => (what, size, max),
            other => panic!("expected an over-bound error, got {other:?}"),
        }
    }

    fn hello(features: Vec<String>) -> Frame<'static> {
        Frame::Hello(Hello {
            min_version: 1,
            max_version: 1,
            features,
            limits: Limits {
                max_message_size: 1,
                max_in_flight: 1,
                max_reassembly: 1,
                max_partials: 1,
            },
        })
    }

    #[test]
    fn a_frame_over_a_bound_is_refused_both_ways() {
        let headers = vec![("", ""); MAX_HEADERS + 1];
        let call = Frame::Call(Call {
            id: 1,
            method: "m",
            headers,
        });
        let expected = ("header count", MAX_HEADERS + 1, MAX_HEADERS);
        assert_eq!(over_bound(&unchecked(&call)), expected);
        let err = encode_with(&call, &()).unwrap_err();
        assert!(matches!(
            err,
            CodecError::OverBound {
                what: "header count",
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            format!(
                "header count of {} exceeds the bound of {MAX_HEADERS}",
                MAX_HEADERS + 1
            )
        );

        let value = "v".repeat(MAX_HEADER_VALUE + 1);
        let cast = Frame::Cast(Cast {
            method: "m",
            headers: vec![("n", value.as_str())],
        });
        let expected = (
            "header value length",
            MAX_HEADER_VALUE + 1,
            MAX_HEADER_VALUE,
        );
        assert_eq!(over_bound(&unchecked(&cast)), expected);

        let long = "n".repeat(MAX_NAME + 1);
        let notify = Frame::Notify(Notify { topic: &long });
        let expected = ("topic name length", MAX_NAME + 1, MAX_NAME);
        assert_eq!(over_bound(&unchecked(&notify)), expected);
        assert_eq!(
            over_bound(&unchecked(&hello(vec![String::new(); MAX_FEATURES + 1]))).0,
            "feature count"
        );
    }

    #[test]
    fn a_declared_count_over_the_bound_is_refused_before_its_elements() {
        // A hello that declares 2^20 features followed by 2^20 bytes that
        // are no valid feature at all: refused on the count, before any
        // element is read.
        let mut bytes = unchecked(&hello(Vec::new())).to_vec();
        let count_at = 3; // kind, min_version, max_version: one byte each
        bytes.splice(count_at..=count_at, [0x80, 0x80, 0x40]);
        bytes.resize(bytes.len() + (1 << 20), 0xff);
        let expected = ("feature count", 1 << 20, MAX_FEATURES);
        assert_eq!(over_bound(&Bytes::from(bytes)), expected);
    }

    #[test]
    fn a_declared_count_beyond_the_message_is_malformed() {
        let mut bytes = unchecked(&hello(Vec::new())).to_vec();
        bytes.splice(3..=3, [0x80, 0x80, 0x80, 0x80, 0x01]);
        let err = decode(&Bytes::from(bytes), MAX).unwrap_err();
        assert!(matches!(err, CodecError::Malformed { .. }), "{err:?}");
    }

    #[test]
    fn a_malformed_header_after_a_refused_one_is_reported_as_malformed() {
        over_bound(&unchecked(&hello(vec![String::new(); MAX_FEATURES + 1])));
        let err = decode(&Bytes::from_static(&[0xff]), MAX).unwrap_err();
        assert!(matches!(err, CodecError::Malformed { .. }), "{err:?}");
    }

    #[test]
    fn oversized_message_is_refused_before_parsing() {
        let message = Bytes::from(vec![0xff; 100]);
        let err = decode(&message, 99).unwrap_err();
        assert!(matches!(err, CodecError::TooLarge { size: 100, max: 99 }));
    }

    #[test]
    fn trailing_bytes_after_a_payload_free_frame_are_refused() {
        let mut bytes = encode(&Frame::Cancel(Cancel { id: 7 })).unwrap().to_vec();
        bytes.push(0);
        let err = decode(&Bytes::from(bytes), MAX).unwrap_err();
        assert!(matches!(
            err,
            CodecError::TrailingBytes {
                what: "cancel",
                count: 1
            }
        ));
    }

    #[test]
    fn trailing_bytes_after_a_payload_value_are_refused() {
        let payload = postcard::to_allocvec(&(1u8, 2u8, 3u8)).unwrap();
        let err = decode_value::<(u8, u8)>(&payload).unwrap_err();
        assert!(matches!(err, CodecError::TrailingBytes { count: 1, .. }));
    }

    #[test]
    fn the_payload_shares_the_message_allocation() {
        let message = encode_with(&Frame::Reply(Reply { id: 1 }), &"hello").unwrap();
        let decoded = decode(&message, MAX).unwrap();
        let start = decoded.payload.as_ptr() as usize - message.as_ptr() as usize;
        assert_eq!(&message[start..], &decoded.payload[..]);
    }
}
