//! Decoding costs O(message size) with a small constant: the degenerate
//! messages of a hostile peer, a 16 MiB `Hello` of empty feature names and
//! a 16 MiB `Call` of empty headers, are refused with close 1002 while the
//! whole process's heap grows by less than four times the message.
//!
//! A binary of its own, since it installs a counting global allocator.

mod common;

use common::{FnRouter, raw};
use peak_alloc::PeakAlloc;
use rpc::{CallOptions, CodecError, protocol::bounds::MAX_HEADERS};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// The server's default `max_message_size`: the largest message it reads.
const LIMIT: usize = 16 << 20;

/// One test at a time: the heap counters are the whole process's.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A postcard varint.
fn varint(mut n: usize, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push(u8::try_from(n & 0x7f).expect("seven bits") | 0x80);
        n >>= 7;
    }
    out.push(u8::try_from(n).expect("below 0x80"));
}

/// A client's masked binary WebSocket frame around a message of `len`
/// bytes, built in place by `fill` so that the test holds one copy only.
/// The mask key is zero, which leaves the payload as it is.
fn ws_frame(len: usize, fill: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut frame = Vec::with_capacity(14 + len);
    frame.extend_from_slice(&[0x82, 0x80 | 127]);
    frame.extend_from_slice(&(len as u64).to_be_bytes());
    frame.extend_from_slice(&[0; 4]);
    fill(&mut frame);
    assert_eq!(frame.len(), 14 + len, "the message is {len} bytes");
    frame
}

/// A `Hello` of `LIMIT` bytes, nearly all of them empty feature names.
fn hello_of_empty_features() -> Vec<u8> {
    let count = LIMIT - 3 - 4 - 6; // kind and versions; the count; limits
    ws_frame(LIMIT, |out| {
        out.extend_from_slice(&[0, 2, 2]);
        varint(count, out);
        out.resize(out.len() + count, 0);
        // 1 MiB messages, 64 in flight, 64 bytes and 16 partials reassembled.
        out.extend_from_slice(&[0x80, 0x80, 0x40, 0x40, 0x40, 0x10]);
    })
}

/// A `Call` of `LIMIT` bytes, nearly all of them empty headers.
fn call_of_empty_headers() -> Vec<u8> {
    let count = (LIMIT - 4 - 4) / 2; // kind, id, method `x`; the count
    ws_frame(LIMIT, |out| {
        out.extend_from_slice(&[2, 1, 1, b'x']);
        varint(count, out);
        out.resize(out.len() + 2 * count, 0);
    })
}

/// Sends `frame` raw and checks that the server closes with 1002 while the
/// heap grows, above where it stood once the frame was built, by less than
/// four times the message; returns the close reason.
async fn refused_within_4x(ws: &mut raw::RawWs, frame: &[u8], what: &str) -> String {
    HEAP.reset_peak_usage();
    let before = HEAP.current_usage();
    raw::write_raw(ws, frame).await;
    let (code, reason) = common::within("close", raw::expect_close(ws)).await;
    let growth = HEAP.peak_usage().saturating_sub(before);
    assert_eq!(code, 1002, "{reason}");
    assert!(
        growth < 4 * LIMIT,
        "refusing a {LIMIT} byte {what} grew the heap by {growth} bytes"
    );
    reason
}

async fn serve() -> rpc::Server {
    common::serve(FnRouter::new("bounds").call("x", |req| async move { req.reply(&()) })).await
}

#[tokio::test]
async fn a_hello_of_16_million_empty_features_is_refused_within_4x_its_size() {
    let _serial = SERIAL.lock().await;
    let server = serve().await;
    let mut ws = raw::upgrade(server.local_addr().unwrap()).await;

    let reason = refused_within_4x(&mut ws, &hello_of_empty_features(), "hello").await;

    assert!(reason.contains("malformed"), "{reason}");
}

#[tokio::test]
async fn a_call_of_8_million_empty_headers_is_refused_within_4x_its_size() {
    let _serial = SERIAL.lock().await;
    let server = serve().await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;

    let reason = refused_within_4x(&mut ws, &call_of_empty_headers(), "call").await;

    let expected = "malformed frame: header count of 8388604 exceeds the bound of 64";
    assert!(reason.contains(expected), "{reason}");
}

#[tokio::test]
async fn a_call_over_a_bound_is_refused_before_it_is_sent() {
    let _serial = SERIAL.lock().await;
    let server = serve().await;
    let client = common::connect(&server).await;
    let options = (0..=MAX_HEADERS).fold(CallOptions::default(), |options, i| {
        options.header(format!("h{i}"), "")
    });

    let err = common::within("call", client.peer().call_with::<_, ()>("x", &(), options))
        .await
        .unwrap_err();

    // The message names the request, not only its arguments; the cause says
    // which bound.
    let err_text = format!(
        "{err}: {}",
        std::error::Error::source(&err)
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    match err {
        rpc::Error::Encode(CodecError::OverBound { what, size, max }) => {
            assert_eq!(
                err_text,
                "could not encode the request: header count of 65 exceeds the bound of 64"
            );
            assert_eq!(
                (what, size, max),
                ("header count", MAX_HEADERS + 1, MAX_HEADERS)
            );
        }
        other => panic!("expected an over-bound encode error, got {other:?}"),
    }
    let within_bounds = common::within("call", client.peer().call::<_, ()>("x", &())).await;
    assert!(
        within_bounds.is_ok(),
        "the session still serves: {within_bounds:?}"
    );
}
