//! Heartbeats and the idle timeout: a peer that answers nothing is noticed
//! within `ping_interval + pong_timeout` and closed with 1001, failing its
//! pending calls at once; a peer that answers pings stays; a session through
//! which nothing flows is closed after `idle_timeout`.
//!
//! The connection is set up on the real clock, then time is paused: the only
//! socket I/O left is loopback writes and reads that are ready at once, so
//! tokio's auto-advance jumps straight from one timer to the next.

mod common;

use std::time::Duration;

use common::{FnRouter, serve_with, server_config, session_config, url};
use rpc::{
    Client, ClientConfig,
    protocol::close_code,
    testing::{FakePeer, FakeServer},
};
use tokio::time::Instant;

/// Longest any paused test waits; far beyond every timeout under test.
const PATIENCE: Duration = Duration::from_secs(3600);

async fn patiently<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish"))
}

#[tokio::test]
async fn a_client_that_answers_nothing_is_closed_with_1001_and_calls_to_it_fail_at_once() {
    let (router, mut sessions) = FnRouter::new("Lobby").join_hands_out_sessions();
    let config = session_config()
        .ping_interval(Some(Duration::from_secs(20)))
        .pong_timeout(Duration::from_secs(5));
    let server = serve_with(router, server_config().session(config)).await;
    // A raw client that joins, then never reads (so never answers a ping).
    let mut ws = FakePeer::connect(server.local_addr().unwrap()).await;
    ws.call(1, "join", &()).await;
    let session = sessions.recv().await.unwrap();

    tokio::time::pause();
    let heard = Instant::now();
    let peer = session.peer();
    let call = tokio::spawn(async move {
        // Far longer than the heartbeat: only the heartbeat can end it.
        let options = rpc::CallOptions::default().timeout(Duration::from_secs(600));
        peer.call_with::<_, ()>("anything", &(), options).await
    });
    let reason = patiently("heartbeat close", session.closed()).await;
    let noticed = heard.elapsed();
    assert_eq!(reason.code, close_code::GOING_AWAY);
    assert!(reason.reason.starts_with("no pong within 5s"), "{reason:?}");
    assert!(
        noticed >= Duration::from_secs(24) && noticed <= Duration::from_secs(26),
        "noticed after {noticed:?}; expected ping interval + pong timeout"
    );
    let err = patiently("pending call", call).await.unwrap().unwrap_err();
    assert!(err.is_closed(), "{err:?}");
    drop(ws);
}

#[tokio::test]
async fn a_quiet_client_that_answers_pings_stays_connected() {
    let router = FnRouter::new("Calc").call("add", |req| async move {
        let (a, b): (i64, i64) = req.args()?;
        req.reply(&(a + b))
    });
    let config = session_config()
        .ping_interval(Some(Duration::from_secs(20)))
        .pong_timeout(Duration::from_secs(5));
    let server = serve_with(router, server_config().session(config.clone())).await;
    let client = Client::builder()
        .config(ClientConfig::default().session(config))
        .connect(&url(&server))
        .await
        .unwrap();

    tokio::time::pause();
    // Ten minutes of silence: thirty pings each way, each answered.
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(!client.peer().is_closed());
    let sum: i64 = patiently("call", client.peer().call("add", &(2, 3)))
        .await
        .unwrap();
    assert_eq!(sum, 5);
}

#[tokio::test]
async fn a_client_notices_a_server_that_stopped_answering_before_its_call_times_out() {
    // A server that answers the handshake, then neither reads nor writes.
    let fake = FakeServer::bind().await;
    let addr = fake.addr();
    let (handshaken_tx, handshaken) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(async move {
        let ws = fake.accept().await;
        handshaken_tx.send(()).unwrap();
        // Hold the connection open, silent, until the test ends.
        std::future::pending::<()>().await;
        drop(ws);
    });
    let config = session_config()
        .ping_interval(Some(Duration::from_secs(5)))
        .pong_timeout(Duration::from_secs(5))
        .call_timeout(Duration::from_secs(60));
    let client = Client::builder()
        .config(ClientConfig::default().session(config))
        .connect(&format!("ws://{addr}"))
        .await
        .unwrap();
    handshaken.await.unwrap();

    tokio::time::pause();
    let started = Instant::now();
    let err = patiently("call", client.peer().call::<_, ()>("anything", &()))
        .await
        .unwrap_err();
    let Some(reason) = err.close_reason() else {
        panic!("expected the session's end, got {err:?}");
    };
    assert_eq!(reason.code, close_code::GOING_AWAY, "{reason:?}");
    assert!(
        started.elapsed() <= Duration::from_secs(11),
        "failed after {:?}, not at the heartbeat",
        started.elapsed()
    );
    server.abort();
}

#[tokio::test]
async fn a_session_where_nothing_flows_closes_after_the_idle_timeout() {
    let router = FnRouter::new("Calc").call("add", |req| async move {
        let (a, b): (i64, i64) = req.args()?;
        req.reply(&(a + b))
    });
    let config = session_config().idle_timeout(Some(Duration::from_secs(60)));
    let server = serve_with(router, server_config().session(config)).await;
    let client = common::connect(&server).await;

    tokio::time::pause();
    // Activity keeps it open: a call every 50 s for 5 minutes.
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_secs(50)).await;
        let sum: i64 = patiently("call", client.peer().call("add", &(1, 1)))
            .await
            .unwrap();
        assert_eq!(sum, 2);
    }
    let quiet = Instant::now();
    let reason = patiently("idle close", client.peer().closed()).await;
    assert_eq!(reason.code, close_code::GOING_AWAY, "{reason:?}");
    assert!(reason.reason.starts_with("idle for 60s"), "{reason:?}");
    assert!(reason.by_peer, "the server's idle timeout closed it");
    assert!(quiet.elapsed() <= Duration::from_secs(61));
    let err = client
        .peer()
        .call::<_, i64>("add", &(1, 1))
        .await
        .unwrap_err();
    assert!(err.close_reason().is_some(), "{err:?}");
}
