//! The outbound side under pressure: a peer that never reads pins at most
//! the session's byte budget, and two duplex peers flooding each other both
//! keep getting answers, because the reader never waits for room.
//!
//! A binary of its own, since it installs a peak-tracking global allocator.

mod common;

use std::time::Duration;

use common::{FnRouter, serve_with, server_config, session_config, within};
use futures_util::{SinkExt, StreamExt, future::join_all};
use peak_alloc::PeakAlloc;
use rpc::{
    Client, ClientConfig, ErrorCode, codec,
    protocol::{Call, Frame, PROTOCOL_VERSION, close_code},
};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// One test at a time: the heap counters are the whole process's.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ANSWER: usize = 4 << 20;
const BUDGET: usize = 8 << 20;

#[tokio::test]
async fn a_peer_that_never_reads_pins_at_most_the_budget_and_is_closed() {
    let _serial = SERIAL.lock().await;
    let (router, mut sessions) = FnRouter::new("Big").join_hands_out_sessions();
    let router = router.call("big", |req| async move { req.reply(&"x".repeat(ANSWER)) });
    let config = session_config()
        .outbound_budget(BUDGET)
        .max_in_flight(256)
        .refusal_lane(64)
        .slow_consumer_grace(Duration::from_secs(5));
    let server = serve_with(router, server_config().session(config)).await;

    // A client with a tiny receive buffer, so the kernel absorbs little of
    // what the server writes once the client stops reading.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(server.local_addr().unwrap()).await.unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
    let hello = common::raw::hello(PROTOCOL_VERSION, PROTOCOL_VERSION, common::raw::UNLIMITED);
    ws.send(Message::Binary(hello)).await.unwrap();
    let _welcome = ws.next().await.unwrap().unwrap();
    let call = |id: u64, method: &str| {
        let frame = Frame::Call(Call {
            id,
            method,
            headers: Vec::new(),
        });
        Message::Binary(codec::encode_with(&frame, &()).unwrap())
    };
    ws.send(call(1, "join")).await.unwrap();
    let session = within("join", sessions.recv()).await.unwrap();

    let baseline = HEAP.current_usage();
    HEAP.reset_peak_usage();
    // 256 calls, each answered with 4 MiB: a gigabyte if every answer were
    // kept for a client that never reads again.
    for id in 2..258 {
        ws.feed(call(id, "big")).await.unwrap();
    }
    ws.flush().await.unwrap();
    let reason = within("close", session.closed()).await;
    let growth = HEAP.peak_usage().saturating_sub(baseline);

    assert_eq!(reason.code, close_code::POLICY, "{reason:?}");
    assert!(
        reason.reason.contains("refusals unread") || reason.reason.contains("stopped reading"),
        "closed for the unread answers: {reason:?}"
    );
    // The budget, plus one handler's answer being built and encoded (the
    // handlers run one at a time on this runtime), plus slack for buffers.
    let bound = BUDGET + 2 * ANSWER + (4 << 20);
    assert!(
        growth <= bound,
        "heap grew by {} KiB; the bound is {} KiB",
        growth >> 10,
        bound >> 10
    );
    drop(ws);
}

fn echo_router(name: &str) -> FnRouter {
    FnRouter::new(name).call("echo", |req| async move {
        let text: String = req.args()?;
        req.reply(&text)
    })
}

/// Many calls at once to `echo` and to a method that does not exist; each
/// must get an answer: the echo, `busy`, or `unknown method`.
async fn flood(peer: rpc::Peer) -> usize {
    let text = "x".repeat(1024);
    let calls = (0..400).map(|n| {
        let (peer, text) = (peer.clone(), text.clone());
        async move {
            let method = if n % 2 == 0 { "echo" } else { "missing" };
            match peer.call::<_, String>(method, &(text.clone(),)).await {
                Ok(answer) => {
                    assert_eq!(answer, text);
                    1
                }
                Err(err) => {
                    let code = err.remote_code();
                    assert!(
                        code == Some(ErrorCode::BUSY) || code == Some(ErrorCode::UNKNOWN_METHOD),
                        "{err:?}"
                    );
                    0
                }
            }
        }
    });
    join_all(calls).await.into_iter().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_duplex_peers_flooding_each_other_both_keep_getting_answers() {
    let _serial = SERIAL.lock().await;
    let (router, mut sessions) = echo_router("Server").join_hands_out_sessions();
    // Small budgets and in-flight limits, so that refusals and waits happen.
    let config = session_config()
        .outbound_budget(64 << 10)
        .max_in_flight(16)
        .refusal_lane(1024);
    let server = serve_with(router, server_config().session(config.clone())).await;
    let client = Client::builder()
        .config(ClientConfig::default().session(config))
        .mount(echo_router("Client").finished())
        .connect(&common::url(&server))
        .await
        .unwrap();
    client.peer().call::<_, ()>("join", &()).await.unwrap();
    let session = within("join", sessions.recv()).await.unwrap();

    let (from_client, from_server) = within(
        "both floods",
        futures_util::future::join(flood(client.peer().clone()), flood(session.peer())),
    )
    .await;
    assert!(
        from_client > 0 && from_server > 0,
        "some echoes got through"
    );
    assert!(!session.is_closed());
}
