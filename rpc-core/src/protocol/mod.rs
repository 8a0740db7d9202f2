//! Wire types: the frame header of every message, the handshake, error and
//! close codes. Plain data; docs/protocol.md specifies the byte layout.
//!
//! Every WebSocket binary message carries exactly one [`Frame`], encoded with
//! postcard. Frame kinds that carry a value (call arguments, a reply, error
//! data, a notification, the discover answer) are followed by that value's
//! own postcard encoding, which runs to the end of the message. Keeping the
//! payload outside the header lets the receiver route a frame without knowing
//! the payload's type, and hand the payload to a handler without copying it.

pub mod bounds;
mod codes;
#[cfg(test)]
mod examples;

pub use codes::{ErrorCode, close_code};

use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 2;

/// The oldest protocol version this build still speaks. Version 2 added
/// the reassembly limits to [`Limits`], which changed the handshake's
/// layout, so version 1 peers are refused.
pub const MIN_PROTOCOL_VERSION: u16 = 2;

/// Call id reserved for errors that concern the connection rather than one
/// call (a refused cast, for example). Real call ids start at 1.
pub const CONNECTION_ERROR_ID: u64 = 0;

/// Prefix reserved for method names the library itself defines.
pub const RESERVED_PREFIX: &str = "rpc.";

/// Metadata header of a [`Call`] that may be retried on another connection:
/// its value names the operation (32 lowercase hex digits, a random
/// 128-bit number the caller draws once per operation and keeps across
/// retries). A server that has seen the operation recently does not run it
/// again: it answers the retry with the running call's answer, or with the
/// answer it kept.
pub const OPERATION_ID_HEADER: &str = "rpc-op-id";

/// Metadata header naming one request for the logs of both sides: a
/// caller whose `call` span is enabled sends one (16 lowercase hex digits,
/// unless the caller set its own), and the callee's `handler` span carries
/// it as its `request_id` field, so the two spans of one call can be
/// matched. It means nothing else to the protocol.
pub const REQUEST_ID_HEADER: &str = "rpc-request-id";

/// Metadata header of a [`Call`], [`Cast`] or [`Open`] carrying the
/// caller's schema hash of the method
/// ([`MethodSchema::hash`](crate::schema::MethodSchema::hash), 16 lowercase
/// hex digits). A callee whose hash differs refuses the request with
/// [`ErrorCode::INCOMPATIBLE_SCHEMA`] instead of decoding its arguments.
/// Typed stubs send it on their first requests of a method in a session,
/// until one is answered; requests without it are not checked. The callee
/// takes it out of the request before the handler sees it.
pub const SCHEMA_HEADER: &str = "rpc-schema";

/// The header of one message. Variants are numbered on the wire in the order
/// listed here (postcard writes the variant index as a varint), so new kinds
/// are only ever appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Frame<'a> {
    /// 0: first message of a client: the versions it speaks.
    Hello(Hello),
    /// 1: the server's answer to [`Frame::Hello`]: the chosen version and limits.
    Welcome(Welcome),
    /// 2: a request that expects a reply; the arguments follow.
    #[serde(borrow)]
    Call(Call<'a>),
    /// 3: a request with no reply; the arguments follow.
    Cast(Cast<'a>),
    /// 4: the successful answer to a call; the value follows.
    Reply(Reply),
    /// 5: the failed answer to a call; application error data may follow.
    Error(ErrorFrame<'a>),
    /// 6: a notification on a topic, sent without a reply; the value follows.
    Notify(Notify<'a>),
    /// 7: the caller gave up on a call; the callee aborts its handler.
    Cancel(Cancel),
    /// 8: asks the peer to describe its mounted routers.
    Discover(Discover),
    /// 9: the answer to [`Frame::Discover`]; a list of router descriptions follows.
    Described(Described),
    /// 10: opens a streaming call; the arguments follow.
    Open(Open<'a>),
    /// 11: one item of a stream; the item follows.
    Item(StreamRef),
    /// 12: the normal end of one direction of a stream.
    End(StreamRef),
    /// 13: flow-control credit: the receiver of a stream's items accepts this
    /// many more.
    Credit(Credit),
    /// 14: one piece of a message too large to send whole; the raw bytes of
    /// the piece follow.
    Fragment(Fragment),
    /// 15: the callee's handler accepted a stream (it started answering);
    /// sent only when the [`Features::stream_accepted`] feature was granted.
    Accepted(Accepted),
}

impl Frame<'_> {
    /// Whether a postcard-encoded value follows this header in the message.
    pub fn has_payload(&self) -> bool {
        matches!(
            self,
            Frame::Call(_)
                | Frame::Cast(_)
                | Frame::Reply(_)
                | Frame::Error(_)
                | Frame::Notify(_)
                | Frame::Described(_)
                | Frame::Open(_)
                | Frame::Item(_)
                | Frame::Fragment(_)
        )
    }

    /// Name of the frame kind, for logs and error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Frame::Hello(_) => "hello",
            Frame::Welcome(_) => "welcome",
            Frame::Call(_) => "call",
            Frame::Cast(_) => "cast",
            Frame::Reply(_) => "reply",
            Frame::Error(_) => "error",
            Frame::Notify(_) => "notify",
            Frame::Cancel(_) => "cancel",
            Frame::Discover(_) => "discover",
            Frame::Described(_) => "described",
            Frame::Open(_) => "open",
            Frame::Item(_) => "item",
            Frame::End(_) => "end",
            Frame::Credit(_) => "credit",
            Frame::Fragment(_) => "fragment",
            Frame::Accepted(_) => "accepted",
        }
    }
}

/// A stream's handler has started answering: items may follow. The caller's
/// open completes on it, so that whatever the handler subscribed to before
/// returning its stream is not missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// Id of the stream, in the caller's id space.
    pub id: u64,
}

/// The optional features this build speaks, as agreed in the handshake:
/// the client asks for them in [`Hello::features`], the server grants
/// those it speaks too in [`Welcome::features`], and both sides then use
/// them in both directions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Features {
    /// `stream-accepted`: the callee of a stream sends [`Frame::Accepted`]
    /// when its handler starts answering, and the caller's open waits for
    /// it.
    pub stream_accepted: bool,
    /// `schemas`: discover answers carry type schemas (the `types` of each
    /// router and the `schema` of each method), and calls may carry a
    /// schema hash ([`SCHEMA_HEADER`]).
    pub schemas: bool,
}

impl Features {
    /// The name of [`stream_accepted`](Self::stream_accepted) on the wire.
    pub const STREAM_ACCEPTED: &'static str = "stream-accepted";
    /// The name of [`schemas`](Self::schemas) on the wire.
    pub const SCHEMAS: &'static str = "schemas";

    /// Every feature this build speaks.
    pub fn all() -> Self {
        Self {
            stream_accepted: true,
            schemas: true,
        }
    }

    /// The features named in `names` that this build speaks; unknown names
    /// are ignored.
    pub fn from_names(names: &[String]) -> Self {
        Self {
            stream_accepted: names.iter().any(|name| name == Self::STREAM_ACCEPTED),
            schemas: names.iter().any(|name| name == Self::SCHEMAS),
        }
    }

    /// The wire names of these features.
    pub fn names(self) -> Vec<String> {
        let mut names = Vec::new();
        if self.stream_accepted {
            names.push(Self::STREAM_ACCEPTED.to_owned());
        }
        if self.schemas {
            names.push(Self::SCHEMAS.to_owned());
        }
        names
    }
}

/// The client's opening message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Lowest protocol version the client speaks.
    pub min_version: u16,
    /// Highest protocol version the client speaks.
    pub max_version: u16,
    /// Optional features the client would like; unknown names are ignored.
    /// At most [`bounds::MAX_FEATURES`].
    #[serde(deserialize_with = "bounds::feature_list")]
    pub features: Vec<String>,
    /// Limits the client enforces, so that the server stays within them.
    pub limits: Limits,
}

impl Hello {
    /// The version a server of this build speaks with the client that sent
    /// this: the highest both speak, or `None` when their ranges do not meet.
    pub fn negotiate(&self) -> Option<u16> {
        let lowest = self.min_version.max(MIN_PROTOCOL_VERSION);
        let highest = self.max_version.min(PROTOCOL_VERSION);
        (lowest <= highest).then_some(highest)
    }
}

/// The server's answer to [`Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The version both sides speak from now on: the highest common one.
    pub version: u16,
    /// The server's id for this session, as it appears in its logs.
    pub session_id: u64,
    /// Features both sides asked for and the server grants. At most
    /// [`bounds::MAX_FEATURES`].
    #[serde(deserialize_with = "bounds::feature_list")]
    pub features: Vec<String>,
    /// Limits the server enforces on this connection.
    pub limits: Limits,
}

/// Limits a side announces so that its peer can stay within them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest message, in bytes, the announcing side accepts.
    pub max_message_size: u32,
    /// Calls the announcing side runs at once for this connection; more get
    /// [`ErrorCode::BUSY`].
    pub max_in_flight: u32,
    /// Bytes of fragmented messages the announcing side holds at once while
    /// their pieces arrive; its peer keeps the messages it has started
    /// within this.
    pub max_reassembly: u32,
    /// Fragmented messages the announcing side holds at once while their
    /// pieces arrive; its peer never has more started.
    pub max_partials: u32,
}

/// A request expecting exactly one [`Reply`] or [`ErrorFrame`] with the same id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call<'a> {
    /// Caller-chosen id, unique among the caller's unanswered calls; never 0.
    pub id: u64,
    /// Wire name of the method, at most [`bounds::MAX_NAME`] bytes.
    #[serde(borrow, deserialize_with = "bounds::method")]
    pub method: &'a str,
    /// Metadata headers (name, value), in the order the caller gave
    /// them; at most [`bounds::MAX_HEADERS`].
    #[serde(borrow, deserialize_with = "bounds::header_list")]
    pub headers: Vec<(&'a str, &'a str)>,
}

/// A fire-and-forget request: no frame is ever sent back for it, except an
/// [`ErrorFrame`] with id 0 when it is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cast<'a> {
    /// Wire name of the method, at most [`bounds::MAX_NAME`] bytes.
    #[serde(borrow, deserialize_with = "bounds::method")]
    pub method: &'a str,
    /// Metadata headers (name, value); at most
    /// [`bounds::MAX_HEADERS`].
    #[serde(borrow, deserialize_with = "bounds::header_list")]
    pub headers: Vec<(&'a str, &'a str)>,
}

/// The successful end of the call with this id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Id of the call being answered.
    pub id: u64,
}

/// The failed end of the call with this id (or, with id 0, a complaint about
/// the connection that concerns no call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame<'a> {
    /// Id of the call being answered, or 0.
    pub id: u64,
    /// What went wrong, as a number a program can match.
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub message: &'a str,
}

/// A notification: a value on a named topic, with no reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notify<'a> {
    /// Topic name, at most [`bounds::MAX_NAME`] bytes.
    #[serde(borrow, deserialize_with = "bounds::topic")]
    pub topic: &'a str,
}

/// The caller no longer waits for the call with this id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancel {
    /// Id of the call to abandon.
    pub id: u64,
}

/// Asks the peer to describe what it serves; answered by [`Described`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discover {
    /// Caller-chosen id, from the same space as call ids.
    pub id: u64,
}

/// Answers [`Discover`]; a `Vec<RouterInfo>` follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Described {
    /// Id of the discover request being answered.
    pub id: u64,
}

/// Opens a streaming call: the callee answers with [`Frame::Item`]s and an
/// [`Frame::End`] (or one [`Frame::Reply`], or an [`Frame::Error`]) carrying
/// this id. The caller may also send items to the callee under the same id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open<'a> {
    /// Caller-chosen id, from the same space as call ids; never 0.
    pub id: u64,
    /// Wire name of the method, at most [`bounds::MAX_NAME`] bytes.
    #[serde(borrow, deserialize_with = "bounds::method")]
    pub method: &'a str,
    /// Metadata headers (name, value); at most
    /// [`bounds::MAX_HEADERS`].
    #[serde(borrow, deserialize_with = "bounds::header_list")]
    pub headers: Vec<(&'a str, &'a str)>,
    /// Items the callee may send before the caller grants more.
    pub credit: u32,
}

/// Which end of a call a stream frame is addressed to. Both sides can open
/// streams with overlapping ids (each side has its own id space), so stream
/// frames say whose id they carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    /// 0: to the side that opened the stream (the id is the receiver's own).
    Caller,
    /// 1: to the side that serves the stream (the id is the sender's).
    Callee,
}

/// Names one stream and the direction of the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRef {
    /// The id the caller gave in [`Open`].
    pub id: u64,
    /// Who receives this frame.
    pub to: Side,
}

/// Grants the sender of a stream's items permission to send more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    /// The id the caller gave in [`Open`].
    pub id: u64,
    /// Who receives this frame: the side that sends the items.
    pub to: Side,
    /// How many more items may be sent.
    pub items: u32,
}

/// One piece of a large message. The sender splits any message longer than
/// its fragment size into pieces sent in order, interleaved with other
/// frames; the receiver concatenates the pieces of one `message` id and
/// handles the result as one message when `last` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fragment {
    /// Sender-chosen id of the large message, unique while it is in transit.
    pub message: u64,
    /// Whether this is the final piece.
    pub last: bool,
}
