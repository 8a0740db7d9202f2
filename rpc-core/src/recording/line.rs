//! The file format: one JSON object a line. The writer and the reader use
//! the same [`Line`], so the two cannot drift apart.
//!
//! ```text
//! {"recording":1,"side":"server","session":7,"ts":1718000000000000}
//! {"ts":1718000000000100,"dir":"in","kind":"call","id":1,"method":"add","summary":"0 headers, 2 argument bytes","len":8,"bytes":"AgEDYWRkAFQE"}
//! {"ts":1718000000000300,"dropped":12}
//! {"ts":1718000000000400,"stopped":"the file reached max_file_bytes (67108864)"}
//! ```
//!
//! `ts` is microseconds since the Unix epoch (UTC), from the system clock:
//! one integer, easy to diff and sort.

use std::{borrow::Cow, fmt::Write as _};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{Direction, RecordedSide};
use crate::{
    codec,
    error::CloseReason,
    protocol::{Frame, Side},
    text::clip,
};

/// Version of the format, in the first line of every file.
pub(super) const FORMAT: u32 = 1;

/// Longest error message kept in a summary, in bytes.
const SUMMARY_TEXT: usize = 120;

/// One line of a recording: the file's header (`recording`, `side`,
/// `session`), a message (`dir`, `kind`, ...), a gap (`dropped`) or the end
/// of recording (`stopped`). Absent fields are left out.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct Line<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) recording: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) side: Option<RecordedSide>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) session: Option<u64>,
    pub(super) ts: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) dir: Option<Direction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) kind: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) method: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) topic: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) summary: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) len: Option<usize>,
    #[serde(skip_serializing_if = "is_false")]
    pub(super) truncated: bool,
    /// The message, base64 (standard alphabet, padded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) bytes: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) dropped: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) stopped: Option<Cow<'a, str>>,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "the shape serde's skip_serializing_if calls"
)]
fn is_false(value: &bool) -> bool {
    !*value
}

impl Line<'_> {
    /// The line as JSON, with its newline.
    pub(super) fn to_json(&self) -> String {
        // Serializing plain strings and integers cannot fail.
        let mut json = serde_json::to_string(self).unwrap_or_default();
        json.push('\n');
        json
    }
}

/// The first line of a file.
pub(super) fn header(ts: u64, side: RecordedSide, session: Option<u64>) -> Line<'static> {
    Line {
        recording: Some(FORMAT),
        side: Some(side),
        session,
        ts,
        ..Line::default()
    }
}

/// A message, described and (up to `max_bytes` of it) encoded.
pub(super) fn message(ts: u64, dir: Direction, bytes: &Bytes, max_bytes: usize) -> Line<'_> {
    let described = describe(bytes);
    let kept = &bytes[..bytes.len().min(max_bytes)];
    Line {
        ts,
        dir: Some(dir),
        kind: Some(Cow::Borrowed(described.kind)),
        id: described.id,
        method: described.method.map(Cow::Borrowed),
        topic: described.topic.map(Cow::Borrowed),
        summary: Some(Cow::Owned(described.summary)),
        len: Some(bytes.len()),
        truncated: kept.len() < bytes.len(),
        bytes: Some(Cow::Owned(STANDARD.encode(kept))),
        ..Line::default()
    }
}

/// A WebSocket close frame, sent or received.
pub(super) fn close(ts: u64, dir: Direction, reason: &CloseReason) -> Line<'static> {
    Line {
        ts,
        dir: Some(dir),
        kind: Some(Cow::Borrowed("close")),
        summary: Some(Cow::Owned(format!(
            "{} {}",
            reason.code,
            clip(&reason.reason, SUMMARY_TEXT)
        ))),
        ..Line::default()
    }
}

/// `count` messages left out here: the queue was full.
pub(super) fn dropped(ts: u64, count: u64) -> Line<'static> {
    Line {
        ts,
        dropped: Some(count),
        ..Line::default()
    }
}

/// The last line: nothing after it was recorded, and why.
pub(super) fn stopped(ts: u64, why: String) -> Line<'static> {
    Line {
        ts,
        stopped: Some(Cow::Owned(why)),
        ..Line::default()
    }
}

/// Decodes base64 `text` of a line's `bytes`.
pub(super) fn decode_bytes(text: &str) -> Option<Bytes> {
    STANDARD.decode(text).ok().map(Bytes::from)
}

/// What a message is, in the line's terms.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Description<'a> {
    pub(super) kind: &'static str,
    pub(super) id: Option<u64>,
    pub(super) method: Option<&'a str>,
    pub(super) topic: Option<&'a str>,
    pub(super) summary: String,
}

/// Decodes the frame at the head of `message` and describes it in a few
/// words; a message that does not decode is kind `malformed`.
#[expect(clippy::too_many_lines, reason = "one short arm per frame kind")]
pub(super) fn describe(message: &Bytes) -> Description<'_> {
    let decoded = match codec::decode(message, usize::MAX) {
        Ok(decoded) => decoded,
        Err(err) => {
            return Description {
                kind: "malformed",
                id: None,
                method: None,
                topic: None,
                summary: crate::router::err_chain(&err),
            };
        }
    };
    let payload = decoded.payload.len();
    let kind = decoded.frame.kind();
    let mut described = Description {
        kind,
        id: None,
        method: None,
        topic: None,
        summary: String::new(),
    };
    let (id, summary) = match decoded.frame {
        Frame::Hello(hello) => (
            None,
            format!(
                "versions {}..={}, features {:?}, max_message_size {}, max_in_flight {}",
                hello.min_version,
                hello.max_version,
                hello.features,
                hello.limits.max_message_size,
                hello.limits.max_in_flight
            ),
        ),
        Frame::Welcome(welcome) => (
            None,
            format!(
                "version {}, session {}, features {:?}, max_message_size {}, max_in_flight {}",
                welcome.version,
                welcome.session_id,
                welcome.features,
                welcome.limits.max_message_size,
                welcome.limits.max_in_flight
            ),
        ),
        Frame::Call(call) => {
            described.method = Some(call.method);
            (Some(call.id), headers(call.headers.len(), payload))
        }
        Frame::Cast(cast) => {
            described.method = Some(cast.method);
            (None, headers(cast.headers.len(), payload))
        }
        Frame::Open(open) => {
            described.method = Some(open.method);
            let summary = format!(
                "credit {}, {}",
                open.credit,
                headers(open.headers.len(), payload)
            );
            (Some(open.id), summary)
        }
        Frame::Notify(notify) => {
            described.topic = Some(notify.topic);
            (None, format!("{payload} value bytes"))
        }
        Frame::Reply(reply) => (Some(reply.id), format!("{payload} value bytes")),
        Frame::Error(error) => {
            let mut summary = format!(
                "code {} ({}): {}",
                error.code.0,
                error.code,
                clip(error.message, SUMMARY_TEXT)
            );
            if payload > 0 {
                let _ = write!(summary, "; {payload} data bytes");
            }
            (Some(error.id), summary)
        }
        Frame::Cancel(cancel) => (Some(cancel.id), String::new()),
        Frame::Discover(discover) => (Some(discover.id), String::new()),
        Frame::Described(described) => (Some(described.id), format!("{payload} bytes of routers")),
        Frame::Item(item) => (
            Some(item.id),
            format!("to {}, {payload} item bytes", side(item.to)),
        ),
        Frame::End(end) => (Some(end.id), format!("to {}", side(end.to))),
        Frame::Credit(credit) => (
            Some(credit.id),
            format!("to {}, {} items", side(credit.to), credit.items),
        ),
        Frame::Fragment(fragment) => (
            None,
            format!(
                "message {}, {payload} bytes{}",
                fragment.message,
                if fragment.last { ", last piece" } else { "" }
            ),
        ),
        Frame::Accepted(accepted) => (Some(accepted.id), String::new()),
    };
    described.id = id;
    described.summary = summary;
    described
}

fn headers(count: usize, payload: usize) -> String {
    format!("{count} headers, {payload} argument bytes")
}

fn side(side: Side) -> &'static str {
    match side {
        Side::Caller => "caller",
        Side::Callee => "callee",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Call, ErrorCode, ErrorFrame, StreamRef};

    fn call() -> Bytes {
        codec::encode_with(
            &Frame::Call(Call {
                id: 7,
                method: "add",
                headers: vec![("trace-id", "abc")],
            }),
            &(40i64, 2i64),
        )
        .unwrap()
    }

    #[test]
    fn a_call_line_has_every_documented_field() {
        let bytes = call();
        let json = message(1_700_000_000_000_000, Direction::In, &bytes, usize::MAX).to_json();
        assert!(json.ends_with('\n'));
        assert_eq!(json.matches('\n').count(), 1, "one line: {json}");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["ts"], 1_700_000_000_000_000u64);
        assert_eq!(value["dir"], "in");
        assert_eq!(value["kind"], "call");
        assert_eq!(value["id"], 7);
        assert_eq!(value["method"], "add");
        assert_eq!(value["summary"], "1 headers, 2 argument bytes");
        assert_eq!(value["len"], bytes.len());
        assert!(value.get("truncated").is_none());
        let decoded = decode_bytes(value["bytes"].as_str().unwrap()).unwrap();
        assert_eq!(decoded, bytes);
    }

    #[test]
    fn a_line_reads_back_as_it_was_written() {
        let bytes = call();
        let line = message(5, Direction::Out, &bytes, usize::MAX);
        let read: Line<'_> = serde_json::from_str(&line.to_json()).unwrap();
        assert_eq!(read, line);
        for line in [
            header(1, RecordedSide::Server, Some(9)),
            dropped(2, 3),
            stopped(3, "full".to_owned()),
            close(4, Direction::In, &CloseReason::remote(1000, "bye")),
        ] {
            let read: Line<'_> = serde_json::from_str(&line.to_json()).unwrap();
            assert_eq!(read, line);
        }
    }

    #[test]
    fn a_message_over_the_cap_keeps_its_head_and_says_so() {
        let bytes = call();
        let line = message(5, Direction::In, &bytes, 4);
        assert!(line.truncated);
        assert_eq!(line.len, Some(bytes.len()));
        assert_eq!(
            decode_bytes(line.bytes.as_deref().unwrap()).unwrap(),
            bytes.slice(..4)
        );
        assert!(line.to_json().contains(r#""truncated":true"#));
    }

    #[test]
    fn meta_lines_carry_only_their_fields() {
        assert_eq!(dropped(2, 3).to_json(), "{\"ts\":2,\"dropped\":3}\n");
        assert_eq!(
            header(1, RecordedSide::Client, Some(4)).to_json(),
            "{\"recording\":1,\"side\":\"client\",\"session\":4,\"ts\":1}\n"
        );
    }

    #[test]
    fn summaries_say_what_matters_for_each_kind() {
        let error = codec::encode_raw(
            &Frame::Error(ErrorFrame {
                id: 3,
                code: ErrorCode::APPLICATION,
                message: &"x".repeat(500),
            }),
            &[],
        )
        .unwrap();
        let described = describe(&error);
        assert_eq!(described.kind, "error");
        assert_eq!(described.id, Some(3));
        assert!(
            described
                .summary
                .starts_with("code 3 (application error): xxx")
        );
        assert!(described.summary.len() < 200, "{}", described.summary);

        let item = codec::encode_with(
            &Frame::Item(StreamRef {
                id: 4,
                to: Side::Caller,
            }),
            &1u8,
        )
        .unwrap();
        assert_eq!(describe(&item).summary, "to caller, 1 item bytes");

        let junk = Bytes::from_static(&[0xff, 0xff]);
        assert_eq!(describe(&junk).kind, "malformed");
    }
}
