//! A peer's bad input gets the same close code and reason style in every
//! phase: before its `Hello` and after the handshake, and disturbs no other
//! client. The abuses that need more than one message, or that could cost
//! the server memory or time, are in `hostile.rs`.

mod common;

use common::{Bystander, FnRouter, raw, serve_with, server_config, session_config, within};
use futures_util::SinkExt;
use rpc::{
    codec,
    protocol::{Frame, Limits, Welcome, close_code},
};
use tokio_tungstenite::tungstenite::Message;

/// What a test client sends: a message through the WebSocket library, or
/// bytes written straight to the socket.
enum Input {
    Message(Message),
    Raw(Vec<u8>),
}

struct Case {
    what: &'static str,
    input: fn() -> Input,
    code: u16,
    /// Text the close reason starts with, in both phases.
    reason: &'static str,
}

fn welcome() -> Input {
    let welcome = Frame::Welcome(Welcome {
        version: rpc::protocol::PROTOCOL_VERSION,
        session_id: 1,
        features: Vec::new(),
        limits: Limits {
            max_message_size: 1024,
            max_in_flight: 1,
            max_reassembly: 1024,
            max_partials: 1,
        },
    });
    Input::Message(Message::Binary(codec::encode(&welcome).unwrap()))
}

const CASES: [Case; 13] = [
    Case {
        what: "text message",
        input: || Input::Message(Message::Text("hello".into())),
        code: close_code::UNSUPPORTED_DATA,
        reason: "text messages are not accepted",
    },
    Case {
        what: "text that is not UTF-8",
        input: || Input::Raw(raw::masked_frame(0x1, &[0xff, 0xfe, 0xfd])),
        code: close_code::INVALID_PAYLOAD,
        reason: "text message is not UTF-8",
    },
    Case {
        what: "oversized message",
        input: || Input::Message(Message::Binary(vec![0; 4096].into())),
        code: close_code::TOO_BIG,
        reason: "message of 4096 bytes exceeds the limit of 1024 bytes",
    },
    Case {
        // A header announcing 1 GiB and no payload: refused from the header.
        what: "oversized frame header",
        input: || {
            let mut header = vec![0x82, 0xFF];
            header.extend_from_slice(&(1u64 << 30).to_be_bytes());
            header.extend_from_slice(&[1, 2, 3, 4]);
            Input::Raw(header)
        },
        code: close_code::TOO_BIG,
        reason: "message of 1073741824 bytes exceeds the limit of 1024 bytes",
    },
    Case {
        what: "malformed frame",
        input: || Input::Message(Message::Binary(vec![0xff; 6].into())),
        code: close_code::PROTOCOL,
        reason: "malformed frame: ",
    },
    Case {
        what: "reserved opcode",
        input: || Input::Raw(raw::masked_frame(0x3, &[])),
        code: close_code::PROTOCOL,
        reason: "",
    },
    Case {
        what: "frame of the wrong kind",
        input: welcome,
        code: close_code::PROTOCOL,
        reason: "",
    },
    Case {
        what: "unmasked client WebSocket frame",
        input: || Input::Raw(vec![0x82, 0x01, 0x00]),
        code: close_code::PROTOCOL,
        reason: "Received an unmasked frame from client",
    },
    Case {
        what: "reserved bits without an extension",
        input: || Input::Raw(raw::frame(0xC2, &[])),
        code: close_code::PROTOCOL,
        reason: "Reserved bits are non-zero",
    },
    Case {
        what: "fragmented control frame (a ping without FIN)",
        input: || Input::Raw(raw::frame(0x09, &[])),
        code: close_code::PROTOCOL,
        reason: "Fragmented control frame",
    },
    Case {
        what: "control frame over 125 bytes",
        input: || Input::Raw(raw::masked_frame(0x9, &[0; 126])),
        code: close_code::PROTOCOL,
        reason: "Control frame too big",
    },
    Case {
        what: "continuation frame without a start",
        input: || Input::Raw(raw::masked_frame(0x0, &[])),
        code: close_code::PROTOCOL,
        reason: "Continue frame but nothing to continue",
    },
    Case {
        what: "data frame inside an unfinished fragmented message",
        input: || Input::Raw([raw::frame(0x02, &[0]), raw::masked_frame(0x2, &[0])].concat()),
        code: close_code::PROTOCOL,
        reason: "While waiting for more fragments received",
    },
];

async fn send(ws: &mut raw::RawWs, input: Input) {
    match input {
        Input::Message(message) => ws.send(message).await.expect("send"),
        Input::Raw(bytes) => raw::write_raw(ws, &bytes).await,
    }
}

async fn server() -> rpc::Server {
    let router = FnRouter::new("Echo").call("echo", |req| async move { req.reply(&()) });
    let config = server_config().session(session_config().max_message_size(1024));
    serve_with(router, config).await
}

#[tokio::test]
async fn bad_input_before_hello_closes_as_it_does_after_the_handshake() {
    let server = server().await;
    let addr = server.local_addr().unwrap();
    let bystander = Bystander::join(&server).await;
    for case in &CASES {
        for handshaken in [false, true] {
            let (mut ws, phase) = if handshaken {
                (raw::handshaken(addr).await, "after the handshake")
            } else {
                (raw::upgrade(addr).await, "before hello")
            };
            send(&mut ws, (case.input)()).await;
            let (code, reason) = within(case.what, raw::expect_close(&mut ws)).await;
            assert_eq!(code, case.code, "{} {phase}: {reason}", case.what);
            assert!(
                !reason.is_empty(),
                "{} {phase}: the close frame says why",
                case.what
            );
            assert!(
                reason.starts_with(case.reason),
                "{} {phase}: {reason}",
                case.what
            );
        }
    }
    bystander.assert_served(&server).await;
}

#[tokio::test]
async fn a_frame_of_the_wrong_kind_is_named_in_the_close_reason() {
    let server = server().await;
    let Input::Message(welcome) = welcome() else {
        unreachable!()
    };
    let mut before = raw::upgrade(server.local_addr().unwrap()).await;
    before.send(welcome.clone()).await.unwrap();
    let (_, reason) = within("close", raw::expect_close(&mut before)).await;
    assert_eq!(reason, "expected a hello frame, got welcome");

    let (_, reason) = raw::close_after(server.local_addr().unwrap(), welcome).await;
    assert_eq!(reason, "unexpected welcome frame after the handshake");
}
