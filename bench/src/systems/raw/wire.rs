//! The frames `raw` exchanges: byte for byte the `Call`, `Reply` and
//! `Notify` frames of `rpc` (docs/protocol.md), written with postcard by
//! hand. A header, then the postcard payload up to the end of the message.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::BenchError;

/// Frame kind of a call (postcard enum index 2; a `u8` below 128 encodes the same).
const CALL: u8 = 2;
/// Frame kind of a reply.
const REPLY: u8 = 4;
/// Frame kind of a notification.
const NOTIFY: u8 = 6;

#[derive(Serialize, Deserialize)]
struct CallHeader<'a> {
    kind: u8,
    id: u64,
    method: &'a str,
    #[serde(borrow)]
    headers: Vec<(&'a str, &'a str)>,
}

#[derive(Serialize, Deserialize)]
struct ReplyHeader {
    kind: u8,
    id: u64,
}

#[derive(Serialize, Deserialize)]
struct NotifyHeader<'a> {
    kind: u8,
    topic: &'a str,
}

/// A decoded message, borrowing from its bytes.
#[derive(Debug)]
pub enum Frame<'a> {
    /// A call: its id, method name and encoded arguments.
    Call {
        /// Caller-chosen id.
        id: u64,
        /// Method name.
        method: &'a str,
        /// Encoded arguments.
        args: &'a [u8],
    },
    /// A reply: the id it answers and the encoded value.
    Reply {
        /// Id of the call answered.
        id: u64,
        /// Encoded value.
        payload: &'a [u8],
    },
    /// A notification: its topic and encoded value.
    Notify {
        /// Topic name.
        topic: &'a str,
        /// Encoded value.
        payload: &'a [u8],
    },
}

fn finish<T: Serialize + ?Sized>(header: Vec<u8>, payload: &T) -> Result<Bytes, BenchError> {
    Ok(Bytes::from(postcard::to_extend(payload, header)?))
}

fn header<T: Serialize>(header: &T) -> Result<Vec<u8>, BenchError> {
    Ok(postcard::to_extend(header, Vec::with_capacity(64))?)
}

/// Encodes a call of `method` with `args`.
///
/// # Errors
///
/// When `args` does not encode.
pub fn call<A: Serialize + ?Sized>(id: u64, method: &str, args: &A) -> Result<Bytes, BenchError> {
    let head = header(&CallHeader {
        kind: CALL,
        id,
        method,
        headers: Vec::new(),
    })?;
    finish(head, args)
}

/// Encodes a reply to call `id` carrying `value`.
///
/// # Errors
///
/// When `value` does not encode.
pub fn reply<T: Serialize + ?Sized>(id: u64, value: &T) -> Result<Bytes, BenchError> {
    finish(header(&ReplyHeader { kind: REPLY, id })?, value)
}

/// Encodes a notification on `topic` carrying `value`.
///
/// # Errors
///
/// When `value` does not encode.
pub fn notify<T: Serialize + ?Sized>(topic: &str, value: &T) -> Result<Bytes, BenchError> {
    finish(
        header(&NotifyHeader {
            kind: NOTIFY,
            topic,
        })?,
        value,
    )
}

/// Decodes one message.
///
/// # Errors
///
/// When the header does not decode or names a kind `raw` does not speak.
pub fn decode(message: &[u8]) -> Result<Frame<'_>, BenchError> {
    match message.first() {
        Some(&CALL) => {
            let (head, args) = postcard::take_from_bytes::<CallHeader<'_>>(message)?;
            Ok(Frame::Call {
                id: head.id,
                method: head.method,
                args,
            })
        }
        Some(&REPLY) => {
            let (head, payload) = postcard::take_from_bytes::<ReplyHeader>(message)?;
            Ok(Frame::Reply {
                id: head.id,
                payload,
            })
        }
        Some(&NOTIFY) => {
            let (head, payload) = postcard::take_from_bytes::<NotifyHeader<'_>>(message)?;
            Ok(Frame::Notify {
                topic: head.topic,
                payload,
            })
        }
        other => Err(BenchError::Unexpected(format!("raw frame kind {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use rpc::{
        codec,
        protocol::{Call, Frame as RpcFrame, Notify, Reply},
    };

    use super::*;

    #[test]
    fn frames_are_byte_for_byte_those_of_rpc() {
        let ours = call(7, "add", &(2i64, -3i64)).unwrap();
        let theirs = codec::encode_with(
            &RpcFrame::Call(Call {
                id: 7,
                method: "add",
                headers: Vec::new(),
            }),
            &(2i64, -3i64),
        )
        .unwrap();
        assert_eq!(ours, theirs);
        let ours = reply(7, &-1i64).unwrap();
        let theirs = codec::encode_with(&RpcFrame::Reply(Reply { id: 7 }), &-1i64).unwrap();
        assert_eq!(ours, theirs);
        let ours = notify("tick", &3u64).unwrap();
        let theirs =
            codec::encode_with(&RpcFrame::Notify(Notify { topic: "tick" }), &3u64).unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn decodes_what_it_encodes() {
        let bytes = call(9, "echo", &("hi",)).unwrap();
        let Frame::Call { id, method, args } = decode(&bytes).unwrap() else {
            panic!("expected a call");
        };
        assert_eq!((id, method), (9, "echo"));
        assert_eq!(postcard::from_bytes::<(String,)>(args).unwrap().0, "hi");
    }
}
