//! A hostile peer: raw TCP and hand-built WebSocket frames that a
//! well-behaved library would never send, aimed at the faults a server must
//! survive. Each test asserts the close code (or how the connection ends),
//! that it comes within a bounded time, that memory stays bounded where the
//! abuse could make the server hold some, and that a well-behaved client
//! keeps being served.
//!
//! Single-message WebSocket violations (text, invalid UTF-8, oversize,
//! malformed frames, reserved opcodes, unmasked frames, reserved bits,
//! fragmented or oversized control frames, stray or interrupted
//! continuations, frames of the wrong kind) are a table in `close_codes.rs`,
//! run in both phases; this file holds the abuses that take more than one
//! message, time, or memory.

mod common;

use std::{alloc::System, fmt::Write as _, net::SocketAddr, time::Duration};

use bytes::Bytes;
use common::{
    Bystander, FnRouter, connections_become, raw, serve_with, server_config, session_config, within,
};
use futures_util::StreamExt;
use rpc::{
    ErrorCode, HandlerError, RegistryEvent, Server, codec,
    protocol::{Call, Cast, Discover, Fragment, Frame, Limits, close_code},
    testing::FakePeer,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::{RwLock, RwLockReadGuard, RwLockWriteGuard},
    time::Instant,
};
use tokio_tungstenite::tungstenite::Message;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The allocator counts every thread of the process, so a test that
/// measures memory runs alone: it holds this lock for writing, every other
/// test holds it for reading.
static ALONE: RwLock<()> = RwLock::const_new(());

/// Memory growth allowed for an abuse whose naive cost is what the peer
/// announces or sends: gigabytes, or tens of megabytes. Generous, since the
/// test's own clients allocate too, and far below the naive cost.
const MEMORY_BOUND: usize = 32 << 20;

/// How soon an abuse the server can judge from the bytes it has must be
/// refused: it needs no timer, so this only absorbs a loaded machine.
const QUICK: Duration = Duration::from_secs(3);

/// The handshake timeout of the slow-client tests.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(300);

/// Held by a test that measures memory, from its start.
async fn alone() -> RwLockWriteGuard<'static, ()> {
    ALONE.write().await
}

/// Held by every other test.
async fn shared() -> RwLockReadGuard<'static, ()> {
    ALONE.read().await
}

/// What the allocator counted since a test started measuring; only
/// meaningful while the test holds [`alone`].
struct Memory(Region<'static, System>);

impl Memory {
    fn measure() -> Self {
        Self(Region::new(GLOBAL))
    }

    /// Bytes allocated since, freed or not (reallocations by their net
    /// growth): a bound on how much the peak grew.
    fn allocated(&self) -> usize {
        let change = self.0.change();
        change.bytes_allocated + change.bytes_reallocated.max(0).unsigned_abs()
    }

    /// Bytes allocated since and still held.
    fn held(&self) -> isize {
        let change = self.0.change();
        change.bytes_allocated.cast_signed() - change.bytes_deallocated.cast_signed()
            + change.bytes_reallocated
    }
}

/// A server whose `join` signals the test, whose `big` answer is 1 KiB, whose
/// `fail` error says 2 KiB, and whose `wait` never answers.
async fn server_with(
    config: rpc::ServerConfig,
) -> (Server, tokio::sync::mpsc::UnboundedReceiver<rpc::Session>) {
    let (router, joined) = FnRouter::new("Hostile").join_hands_out_sessions();
    let router = router
        .call("big", |req| async move { req.reply(&"x".repeat(1024)) })
        .call("fail", |_| async move {
            Err(HandlerError::new(ErrorCode::INTERNAL, "y".repeat(2048)))
        })
        .call("wait", |_| std::future::pending());
    (serve_with(router, config).await, joined)
}

async fn server() -> Server {
    server_with(server_config()).await.0
}

/// Where in its life a connection is abused.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Upgraded to WebSocket, no `Hello` sent yet.
    BeforeHello,
    /// The protocol handshake is done.
    AfterHandshake,
}

impl Phase {
    const BOTH: [Self; 2] = [Self::BeforeHello, Self::AfterHandshake];

    async fn open(self, addr: SocketAddr) -> FakePeer {
        match self {
            Self::BeforeHello => FakePeer::upgrade(addr).await,
            Self::AfterHandshake => FakePeer::connect(addr).await,
        }
    }
}

fn call(id: u64, method: &str) -> Bytes {
    let frame = Frame::Call(Call {
        id,
        method,
        headers: Vec::new(),
    });
    codec::encode_with(&frame, &()).unwrap()
}

// ---- WebSocket level ----

#[tokio::test]
async fn length_headers_of_2_pow_32_and_2_pow_63_are_refused_from_the_header_in_both_phases() {
    let _alone = alone().await;
    let server = server().await;
    let bystander = Bystander::join(&server).await;
    let memory = Memory::measure();
    for len in [1u64 << 32, 1u64 << 63] {
        for phase in Phase::BOTH {
            let mut ws = phase.open(server.local_addr().unwrap()).await;
            let started = Instant::now();
            // The header and a few bytes: a server waiting for the rest, or
            // reserving room for it, would hang or run out of memory.
            ws.write_header(0x82, len).await;
            ws.write_socket(b"a start").await;
            let closed = ws.closed().await;
            let (code, reason) = (closed.code, closed.reason);
            assert_eq!(code, close_code::TOO_BIG, "{len} {phase:?}: {reason}");
            assert!(
                reason.starts_with(&format!("message of {len} bytes exceeds the limit")),
                "{len} {phase:?}: {reason}"
            );
            assert!(
                started.elapsed() < QUICK,
                "{len} {phase:?}: {:?}",
                started.elapsed()
            );
        }
    }
    let allocated = memory.allocated();
    assert!(allocated < MEMORY_BOUND, "allocated {allocated} bytes");
    bystander.assert_served(&server).await;
}

/// Resets (RST, not FIN) the connection: the peer vanishes mid-frame.
fn reset(tcp: TcpStream) {
    tcp.set_zero_linger().expect("SO_LINGER 0");
    drop(tcp);
}

#[tokio::test]
async fn a_connection_reset_mid_frame_frees_its_slot_in_every_phase() {
    let _shared = shared().await;
    let server = server().await;
    let bystander = Bystander::join(&server).await;
    connections_become(&server, 1).await;

    let mut tcp = TcpStream::connect(server.local_addr().unwrap())
        .await
        .unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr")
        .await
        .unwrap();
    connections_become(&server, 2).await;
    reset(tcp);
    connections_become(&server, 1).await;

    for phase in Phase::BOTH {
        let mut ws = phase.open(server.local_addr().unwrap()).await;
        connections_become(&server, 2).await;
        // Half of a 1 MiB message, which the server is buffering.
        ws.write_header(0x82, 1 << 20).await;
        ws.write_socket(&vec![0; 512 << 10]).await;
        ws.reset();
        connections_become(&server, 1).await;
    }
    bystander.assert_served(&server).await;
}

#[tokio::test]
async fn a_ping_flood_from_a_peer_that_never_reads_is_coalesced_and_bounded() {
    // 200 000 pings of 125 bytes, 26 MB: before the write buffer was
    // bounded, the server kept a pong for each, 66 MB.
    const PINGS: usize = 200_000;
    const BATCH: usize = 1000;
    let _alone = alone().await;
    let (server, mut joined) = server_with(server_config()).await;
    let bystander = Bystander::join(&server).await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    // The largest payload a control frame may carry: each pong kept costs
    // the most.
    let flood = raw::frame(0x89, &[7; 125]).repeat(BATCH);
    let memory = Memory::measure();
    for _ in 0..PINGS / BATCH {
        raw::write_raw(&mut ws, &flood).await;
    }
    // Once the handler of a call sent after the flood runs, the server has
    // read every ping.
    raw::write_raw(&mut ws, &raw::frame(0x82, &call(1, "join"))).await;
    within("the call after the flood", joined.recv())
        .await
        .unwrap();
    let held = memory.held();
    // The pongs the server holds for a peer that does not read fit its write
    // buffer (about 132 KiB); the rest are coalesced.
    assert!(held < MEMORY_BOUND.cast_signed(), "{held} bytes held");
    bystander.assert_served(&server).await;

    // The flooder is answered too, once it reads: some pongs, then the reply.
    let mut pongs = 0;
    loop {
        match within("the answer", ws.next()).await {
            Some(Ok(Message::Pong(_))) => pongs += 1,
            Some(Ok(Message::Binary(reply))) => {
                let decoded = codec::decode(&reply, usize::MAX).unwrap();
                assert!(matches!(decoded.frame, Frame::Reply(r) if r.id == 1));
                break;
            }
            other => panic!("expected pongs and the reply, got {other:?}"),
        }
    }
    assert!((1..PINGS).contains(&pongs), "{pongs} pongs");
}

/// A valid upgrade request for `addr`, with `headers` (each ending in CRLF)
/// added.
fn upgrade_request(addr: SocketAddr, headers: &str) -> Vec<u8> {
    format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         {headers}\r\n"
    )
    .into_bytes()
}

/// `count` small headers, each ending in CRLF.
fn filler_headers(count: usize) -> String {
    (0..count).fold(String::new(), |mut headers, i| {
        let _ = write!(headers, "X-Filler-{i}: {i}\r\n");
        headers
    })
}

/// Reads what the server sends until it hangs up (a clean end or a reset).
async fn until_hung_up(tcp: &mut (impl AsyncReadExt + Unpin)) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    }
}

/// Writes `bytes` to `tcp` one at a time, `pace` apart, as a slowloris
/// client does; stops at the first failed write.
async fn trickle(tcp: &mut (impl AsyncWriteExt + Unpin), bytes: &[u8], pace: Duration) {
    for byte in bytes {
        if tcp.write_all(&[*byte]).await.is_err() {
            return;
        }
        // The pace is the abuse itself, not a wait for something.
        tokio::time::sleep(pace).await;
    }
}

async fn slow_server() -> Server {
    server_with(server_config().handshake_timeout(HANDSHAKE_TIMEOUT))
        .await
        .0
}

#[tokio::test]
async fn an_upgrade_sent_one_byte_at_a_time_is_dropped_at_the_handshake_timeout() {
    let _shared = shared().await;
    let server = slow_server().await;
    let bystander = Bystander::join(&server).await;
    // Before connecting: the server's deadline starts at its accept.
    let started = Instant::now();
    let mut tcp = TcpStream::connect(server.local_addr().unwrap())
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let request = upgrade_request(server.local_addr().unwrap(), "");
    // 20 ms a byte: the request would take seconds; only the handshake
    // timeout cuts it.
    let (mut reader, mut writer) = tcp.split();
    tokio::select! {
        () = trickle(&mut writer, &request, Duration::from_millis(20)) => {
            panic!("the server waited for the whole trickled request");
        }
        answer = within("hang-up", until_hung_up(&mut reader)) => {
            assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
        }
    }
    assert_dropped_at_the_handshake_timeout(started);
    bystander.assert_served(&server).await;
}

/// The connection started at `started` was dropped by the handshake
/// timeout, not earlier and not much later.
fn assert_dropped_at_the_handshake_timeout(started: Instant) {
    let elapsed = started.elapsed();
    assert!(
        elapsed >= HANDSHAKE_TIMEOUT && elapsed < HANDSHAKE_TIMEOUT + QUICK,
        "dropped after {elapsed:?}"
    );
}

#[tokio::test]
async fn an_upgrade_never_finished_is_dropped_at_the_handshake_timeout() {
    let _shared = shared().await;
    let server = slow_server().await;
    let bystander = Bystander::join(&server).await;
    let started = Instant::now();
    let mut tcp = TcpStream::connect(server.local_addr().unwrap())
        .await
        .unwrap();
    let request = upgrade_request(server.local_addr().unwrap(), "");
    // All but the blank line that ends the request.
    tcp.write_all(&request[..request.len() - 2]).await.unwrap();
    let answer = within("hang-up", until_hung_up(&mut tcp)).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    assert_dropped_at_the_handshake_timeout(started);
    bystander.assert_served(&server).await;
}

#[tokio::test]
async fn a_hello_sent_one_byte_at_a_time_is_closed_with_1008_at_the_handshake_timeout() {
    let _shared = shared().await;
    let server = slow_server().await;
    let bystander = Bystander::join(&server).await;
    let started = Instant::now();
    let mut ws = raw::upgrade(server.local_addr().unwrap()).await;
    let hello = raw::frame(0x82, &raw::hello(2, 2, raw::UNLIMITED));
    // Every byte but the last, 25 ms apart: longer than the timeout.
    trickle(
        ws.get_mut(),
        &hello[..hello.len() - 1],
        Duration::from_millis(25),
    )
    .await;
    let (code, reason) = within("close", raw::expect_close(&mut ws)).await;
    assert_eq!(code, close_code::POLICY, "{reason}");
    assert_eq!(reason, "handshake timed out");
    let elapsed = started.elapsed();
    assert!(
        elapsed < HANDSHAKE_TIMEOUT + QUICK,
        "closed after {elapsed:?}"
    );
    bystander.assert_served(&server).await;
}

#[tokio::test]
async fn oversized_upgrade_headers_are_refused_without_buffering_them() {
    let _alone = alone().await;
    let server = server().await;
    let bystander = Bystander::join(&server).await;
    let addr = server.local_addr().unwrap();

    // The control: 100 headers, under the server's limit of 124, are upgraded.
    let many = filler_headers(100);
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&upgrade_request(addr, &many)).await.unwrap();
    let mut answer = [0u8; 12];
    within("101", tcp.read_exact(&mut answer)).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 101");
    drop(tcp);

    // 200 headers, over the 124 the server parses: it hangs up.
    let too_many = filler_headers(200);
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&upgrade_request(addr, &too_many))
        .await
        .unwrap();
    let answer = within("hang-up", until_hung_up(&mut tcp)).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));

    // One header of 64 MiB: the server stops reading at 64 KiB of request
    // and hangs up; a server buffering it would hold 64 MiB or more.
    let memory = Memory::measure();
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Huge: ")
        .await
        .unwrap();
    let chunk = vec![b'a'; 64 << 10];
    let mut sent = 0;
    while sent < 64 << 20 && tcp.write_all(&chunk).await.is_ok() {
        sent += chunk.len();
    }
    let answer = within("hang-up", until_hung_up(&mut tcp)).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    assert!(started.elapsed() < QUICK, "{:?}", started.elapsed());
    assert!(sent < 64 << 20, "the server read all {sent} bytes");
    let allocated = memory.allocated();
    assert!(allocated < MEMORY_BOUND, "allocated {allocated} bytes");
    bystander.assert_served(&server).await;
}

// ---- Session level ----

fn error_frame(message: &Bytes) -> (u64, ErrorCode, String) {
    match codec::decode(message, usize::MAX).unwrap().frame {
        Frame::Error(error) => (error.id, error.code, error.message.to_owned()),
        other => panic!("expected an error frame, got {other:?}"),
    }
}

/// A call frame built byte by byte, for method names the codec refuses to
/// encode: kind 2, the id, the name, no headers, `()` as arguments.
fn call_unchecked(id: u8, method: &str) -> Vec<u8> {
    let mut bytes = vec![2, id];
    let mut len = method.len();
    while len >= 0x80 {
        bytes.push(u8::try_from(len & 0x7f).unwrap() | 0x80);
        len >>= 7;
    }
    bytes.push(u8::try_from(len).unwrap());
    bytes.extend_from_slice(method.as_bytes());
    bytes.push(0);
    bytes
}

#[tokio::test]
async fn a_method_name_of_16_mib_is_refused_from_its_length() {
    let _shared = shared().await;
    let server = server().await;
    let bystander = Bystander::join(&server).await;
    let mut peer = FakePeer::connect(server.local_addr().unwrap()).await;
    // Just under the server's default limit of 16 MiB.
    let name = "x".repeat((16 << 20) - 64);
    peer.send_raw(call_unchecked(1, &name)).await;
    drop(name);
    let closed = peer.closed().await;
    let (code, reason) = (closed.code, closed.reason);
    assert_eq!(code, close_code::PROTOCOL, "{reason}");
    assert!(reason.contains("method name length"), "{reason}");
    bystander.assert_served(&server).await;
}

#[tokio::test]
async fn no_error_exceeds_a_small_announced_max_message_size() {
    const MAX: u32 = 256;
    let _shared = shared().await;
    let server = server().await;
    let bystander = Bystander::join(&server).await;
    let limits = Limits {
        max_message_size: MAX,
        ..FakePeer::UNLIMITED
    };
    let mut peer = FakePeer::upgrade(server.local_addr().unwrap()).await;
    peer.handshake(limits).await;
    // The longest name the bounds allow: `no method named ...` is longer
    // than the 256 bytes the client accepts.
    let long_name = "z".repeat(rpc::protocol::bounds::MAX_NAME);
    let cast = Frame::Cast(Cast {
        method: &long_name,
        headers: Vec::new(),
    });
    let triggers = [
        (
            "unknown method",
            call(1, &long_name),
            1,
            ErrorCode::UNKNOWN_METHOD,
        ),
        (
            "answer over the limit",
            call(2, "big"),
            2,
            ErrorCode::TOO_LARGE,
        ),
        (
            "handler error of 2 KiB",
            call(3, "fail"),
            3,
            ErrorCode::INTERNAL,
        ),
        (
            "cast to an unknown method",
            codec::encode_with(&cast, &()).unwrap(),
            0,
            ErrorCode::UNKNOWN_METHOD,
        ),
    ];
    for (what, request, id, code) in triggers {
        peer.send_raw(request).await;
        let answer = peer.expect_frame().await.message().clone();
        assert!(
            answer.len() <= MAX as usize,
            "{what}: {} bytes",
            answer.len()
        );
        let (answer_id, answer_code, message) = error_frame(&answer);
        assert_eq!((answer_id, answer_code), (id, code), "{what}: {message}");
        assert!(!message.is_empty(), "{what}: the error says why");
    }
    bystander.assert_served(&server).await;
}

#[tokio::test]
async fn fifty_thousand_empty_fragments_close_with_1009_past_max_partials_cheaply() {
    let _alone = alone().await;
    let server = server().await;
    let bystander = Bystander::join(&server).await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    // Each piece starts a partial message of its own: nothing to hold but
    // its id, unless the server bounds the count.
    let fragments: Vec<u8> = (0..50_000)
        .flat_map(|message| {
            let piece = Frame::Fragment(Fragment {
                message,
                last: false,
            });
            raw::frame(0x82, &codec::encode_raw(&piece, &[]).unwrap())
        })
        .collect();
    let memory = Memory::measure();
    let started = Instant::now();
    // The server closes long before the last piece; it may hang up before
    // reading them all.
    let _ = ws.get_mut().write_all(&fragments).await;
    let (code, reason) = within("close", raw::expect_close(&mut ws)).await;
    assert_eq!(code, close_code::TOO_BIG, "{reason}");
    assert!(reason.contains("16 fragmented messages"), "{reason}");
    assert!(started.elapsed() < QUICK, "{:?}", started.elapsed());
    // Tens of KiB today; a partial message held for each piece would cost
    // megabytes.
    let allocated = memory.allocated();
    assert!(allocated < 1 << 20, "allocated {allocated} bytes");
    bystander.assert_served(&server).await;
}

#[tokio::test]
async fn a_peer_that_never_reads_its_refusals_is_closed_with_1008() {
    const LANE: usize = 4;
    let _shared = shared().await;
    let (server, _joined) =
        server_with(server_config().session(session_config().refusal_lane(LANE))).await;
    let bystander = Bystander::join(&server).await;
    let mut events = server.registry().events();
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    // Each refusal names the method: about 300 bytes, so that the socket's
    // buffers fill after some thousands and the refusals pile up.
    let name = "w".repeat(rpc::protocol::bounds::MAX_NAME);
    let flood = async {
        for batch in 0..1000u64 {
            let calls: Vec<u8> = (1..=100)
                .flat_map(|i| raw::frame(0x82, &call(batch * 100 + i, &name)))
                .collect();
            if ws.get_mut().write_all(&calls).await.is_err() {
                return;
            }
        }
    };
    // The flood ends once the server has given up on the flooder: the one
    // session that arrived after the bystander leaves the registry.
    let given_up =
        async { while !matches!(events.recv().await, Ok(RegistryEvent::Left { .. })) {} };
    tokio::pin!(given_up);
    within("the server gives up", async {
        tokio::select! {
            () = flood => given_up.await,
            () = &mut given_up => {}
        }
    })
    .await;
    let (code, reason) = within("close", raw::expect_close(&mut ws)).await;
    assert_eq!(code, close_code::POLICY, "{reason}");
    assert!(
        reason.starts_with(&format!("more than {LANE} refusals unread")),
        "{reason}"
    );
    bystander.assert_served(&server).await;
}

#[tokio::test]
async fn a_discover_with_id_0_closes_with_1002() {
    let _shared = shared().await;
    let server = server().await;
    let bystander = Bystander::join(&server).await;
    let mut peer = FakePeer::connect(server.local_addr().unwrap()).await;
    peer.send(&Frame::Discover(Discover { id: 0 }), &()).await;
    let closed = peer.closed().await;
    let (code, reason) = (closed.code, closed.reason);
    assert_eq!(code, close_code::PROTOCOL, "{reason}");
    assert_eq!(reason, "id 0 is reserved");
    bystander.assert_served(&server).await;
}

#[tokio::test]
async fn reusing_the_id_of_a_running_call_closes_with_1002() {
    let _shared = shared().await;
    let server = server().await;
    let bystander = Bystander::join(&server).await;
    let mut peer = FakePeer::connect(server.local_addr().unwrap()).await;
    peer.call(7, "wait", &()).await;
    peer.call(7, "wait", &()).await;
    let closed = peer.closed().await;
    let (code, reason) = (closed.code, closed.reason);
    assert_eq!(code, close_code::PROTOCOL, "{reason}");
    assert_eq!(reason, "call id 7 is already in flight");
    bystander.assert_served(&server).await;
}
