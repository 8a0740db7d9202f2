//! Names of the metrics the library records through the
//! [`metrics`](https://docs.rs/metrics) facade (the `metrics` feature), one
//! constant each, so that dashboards and tests name them as the code does.
//! `docs/observability.md` gives each one's type, labels and meaning, and
//! how to export them.
//!
//! Nothing is recorded until the application installs a recorder (an
//! exporter such as `metrics-exporter-prometheus`); install it before the
//! first connection, since the library keeps the handles it makes on first
//! use. Without the feature these names still exist, and nothing is
//! recorded.
//!
//! Labels stay few: `side` is `server` or `client`; `method` is a method
//! this side mounted (a name the peer sent that no router serves counts as
//! `unknown`) or, for calls made, the name this side's code called;
//! `outcome` is `ok` or one word per error (see [`outcome`]).

pub(crate) mod record;

use crate::protocol::ErrorCode;

/// Gauge, `side`: sessions open now.
pub const SESSIONS_OPEN: &str = "rpc_sessions_open";
/// Counter, `side`: sessions started (after the protocol handshake).
pub const SESSIONS_OPENED: &str = "rpc_sessions_opened_total";
/// Counter, `side`, `close` (the close code's class: `normal`,
/// `going-away`, `protocol`, `abnormal`, `policy`, `too-big`, `internal`,
/// `try-again-later`, `other`) and `by` (`local` or `peer`): sessions ended.
pub const SESSIONS_CLOSED: &str = "rpc_sessions_closed_total";
/// Counter, `reason` (`connection-limit`, `handshake-timeout`,
/// `upgrade-refused`, `handshake-failed`): connections a server dropped
/// before they became sessions.
pub const CONNECTIONS_REFUSED: &str = "rpc_connections_refused_total";
/// Counter, `method`, `outcome`: requests the peer sent to this side
/// (calls, casts, notifications and streams), by how they ended, refused
/// ones included.
pub const CALLS_SERVED: &str = "rpc_calls_served_total";
/// Histogram in seconds, `method`: how long handlers ran, from admission to
/// the answer (a stream's handler: until its last item).
pub const HANDLER_SECONDS: &str = "rpc_handler_seconds";
/// Counter, `method`, `outcome` ([`Error::kind`](crate::Error::kind)
/// words): calls this side made through a [`Peer`](crate::Peer), each
/// attempt on a connection counted once.
pub const CALLS_MADE: &str = "rpc_calls_made_total";
/// Histogram in seconds, `method`: round trip of calls this side made, from
/// the call until its outcome, whatever it was.
pub const CALL_SECONDS: &str = "rpc_call_seconds";
/// Counter, `side`: bytes of WebSocket messages received.
pub const BYTES_RECEIVED: &str = "rpc_bytes_received_total";
/// Counter, `side`: bytes of WebSocket messages sent.
pub const BYTES_SENT: &str = "rpc_bytes_sent_total";
/// Counter, `reason` (`shutting-down`, `rate-limited`, `unknown-method`,
/// `unknown-topic`, `in-flight`, `inbound-budget`, `operation`,
/// `answer-over-budget`, `answer-too-large`): requests or answers refused
/// with an error frame instead of run or sent.
pub const REFUSALS: &str = "rpc_refusals_total";
/// Counter, `reason` (`full`, `evicted`, `closed`, `rate-limited`,
/// `too-large`, `unknown-topic`, `bus-unavailable`, `bus-full`): pushes not delivered; each one goes to
/// the dead-letter queue when the server has one.
pub const PUSHES_UNDELIVERED: &str = "rpc_pushes_undelivered_total";
/// Counter: undelivered pushes lost because the dead-letter queue was full.
pub const DEAD_LETTERS_LOST: &str = "rpc_dead_letters_lost_total";
/// Counter, `event` (`peer-error`, `cast-failed`, `malformed-input`,
/// `slow-consumer`): events the peer caused that are logged at WARN
/// (a few lines per window; the counter sees every one).
pub const PEER_EVENTS: &str = "rpc_peer_events_total";
/// Counter, `outcome` (`connected`, `failed`, `hook-failed`): connection
/// attempts of a [`ReconnectingClient`](crate::ReconnectingClient).
pub const RECONNECT_ATTEMPTS: &str = "rpc_reconnect_attempts_total";
/// Counter: connections a [`ReconnectingClient`](crate::ReconnectingClient)
/// lost (and then tried to replace).
pub const RECONNECT_DISCONNECTS: &str = "rpc_reconnect_disconnects_total";

/// Every metric name above.
pub const NAMES: &[&str] = &[
    SESSIONS_OPEN,
    SESSIONS_OPENED,
    SESSIONS_CLOSED,
    CONNECTIONS_REFUSED,
    CALLS_SERVED,
    HANDLER_SECONDS,
    CALLS_MADE,
    CALL_SECONDS,
    BYTES_RECEIVED,
    BYTES_SENT,
    REFUSALS,
    PUSHES_UNDELIVERED,
    DEAD_LETTERS_LOST,
    PEER_EVENTS,
    RECONNECT_ATTEMPTS,
    RECONNECT_DISCONNECTS,
];

/// Outcome words of [`CALLS_SERVED`], indexed as [`outcome_index`] says.
const OUTCOMES: [&str; 15] = [
    "ok",
    "unknown-method",
    "bad-arguments",
    "application",
    "timeout",
    "busy",
    "shutting-down",
    "internal",
    "answer-too-large",
    "unauthenticated",
    "unknown-topic",
    "answer-gone",
    "forbidden",
    "incompatible-schema",
    "other",
];

/// The `outcome` label of [`CALLS_SERVED`] for a request answered with
/// `code` (`None`: it succeeded): `ok`, or the code's name in the words of
/// [`Error::kind`](crate::Error::kind) (`busy`, `bad-arguments`, ...);
/// `other` for a code this build does not know.
pub fn outcome(code: Option<ErrorCode>) -> &'static str {
    OUTCOMES[outcome_index(code)]
}

fn outcome_index(code: Option<ErrorCode>) -> usize {
    let Some(code) = code else { return 0 };
    match code {
        ErrorCode::UNKNOWN_METHOD => 1,
        ErrorCode::BAD_ARGUMENTS => 2,
        ErrorCode::APPLICATION => 3,
        ErrorCode::TIMEOUT => 4,
        ErrorCode::BUSY => 5,
        ErrorCode::SHUTTING_DOWN => 6,
        ErrorCode::INTERNAL => 7,
        ErrorCode::TOO_LARGE => 8,
        ErrorCode::UNAUTHENTICATED => 9,
        ErrorCode::UNKNOWN_TOPIC => 10,
        ErrorCode::ANSWER_GONE => 11,
        ErrorCode::FORBIDDEN => 12,
        ErrorCode::INCOMPATIBLE_SCHEMA => 13,
        _ => 14,
    }
}

/// The `close` label of [`SESSIONS_CLOSED`] for a WebSocket close code.
fn close_class(code: u16) -> &'static str {
    use crate::protocol::close_code;
    match code {
        close_code::NORMAL => "normal",
        close_code::GOING_AWAY => "going-away",
        close_code::PROTOCOL | close_code::UNSUPPORTED_DATA | close_code::INVALID_PAYLOAD => {
            "protocol"
        }
        close_code::ABNORMAL => "abnormal",
        close_code::POLICY => "policy",
        close_code::TOO_BIG => "too-big",
        close_code::INTERNAL => "internal",
        close_code::TRY_AGAIN_LATER => "try-again-later",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prefixed_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for name in NAMES {
            assert!(name.starts_with("rpc_"), "{name}");
            assert!(seen.insert(name), "{name} twice");
        }
    }

    #[test]
    fn known_codes_have_their_own_word() {
        let words: Vec<_> = (1..=12)
            .map(|code| outcome(Some(ErrorCode(code))))
            .collect();
        assert!(!words.contains(&"other"));
        assert_eq!(outcome(None), "ok");
        assert_eq!(outcome(Some(ErrorCode(999))), "other");
        assert_eq!(outcome(Some(ErrorCode::BUSY)), "busy");
    }

    #[test]
    fn remote_outcomes_read_as_the_callers_error_kinds() {
        // The same word on both sides, except a handler's timeout, which
        // the caller sees as the peer's (`remote-timeout`).
        for code in (1..=10).map(ErrorCode).filter(|c| *c != ErrorCode::TIMEOUT) {
            let remote = crate::RemoteError::new(code, String::new(), bytes::Bytes::new());
            assert_eq!(outcome(Some(code)), crate::Error::Remote(remote).kind());
        }
    }
}
