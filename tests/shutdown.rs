//! Ends of sessions: graceful shutdown with a call in flight, a peer that
//! disappears with calls pending, and isolation between connections.

mod common;

use std::{sync::Arc, time::Duration};

use common::{DropSignal, FnRouter, connect, raw, serve, within};
use futures_util::{SinkExt, StreamExt};
use rpc::{ErrorCode, protocol::close_code, testing::FakeServer};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

fn slow_router(started: mpsc::UnboundedSender<()>, release: Arc<Semaphore>) -> FnRouter {
    FnRouter::new("Slow")
        .call("slow", move |req| {
            let started = started.clone();
            let release = Arc::clone(&release);
            async move {
                started.send(()).unwrap();
                release.acquire().await.unwrap().forget();
                req.reply(&"finished")
            }
        })
        .call("add", |req| async move {
            let (a, b): (i64, i64) = req.args()?;
            req.reply(&(a + b))
        })
}

/// A router whose `stuck` handler reports that it started and never ends;
/// the oneshot fires when its future is dropped (the task aborted).
fn stuck_router() -> (FnRouter, mpsc::UnboundedReceiver<()>, oneshot::Receiver<()>) {
    let (started_tx, started) = mpsc::unbounded_channel();
    let (dropped_tx, dropped) = oneshot::channel();
    let dropped_tx = std::sync::Mutex::new(Some(dropped_tx));
    let router = FnRouter::new("Stuck").call("stuck", move |req| {
        let started = started_tx.clone();
        let guard = DropSignal(dropped_tx.lock().unwrap().take());
        async move {
            let _guard = guard;
            started.send(()).unwrap();
            std::future::pending::<()>().await;
            req.reply(&())
        }
    });
    (router, started, dropped)
}

/// A server with a `slow` call in flight, which keeps it draining once it
/// shuts down until `release` gets a permit.
struct Busy {
    server: rpc::Server,
    client: rpc::Client,
    in_flight: tokio::task::JoinHandle<Result<String, rpc::Error>>,
    release: Arc<Semaphore>,
}

async fn busy() -> Busy {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let server = serve(slow_router(started_tx, Arc::clone(&release))).await;
    let client = connect(&server).await;
    let in_flight = tokio::spawn({
        let peer = client.peer().clone();
        async move { peer.call::<_, String>("slow", &()).await }
    });
    started.recv().await.unwrap();
    Busy {
        server,
        client,
        in_flight,
        release,
    }
}

/// Starts shutting `server` down and returns its task once `client`'s calls
/// are refused (the drain flag is set by the session's task, so this waits
/// for the first refusal), with that refusal.
async fn start_shutdown(
    server: rpc::Server,
    client: &rpc::Client,
) -> (tokio::task::JoinHandle<()>, rpc::Error) {
    let shutdown = tokio::spawn(server.shutdown());
    let refused = within("refusal", async {
        loop {
            match client.peer().call::<_, i64>("add", &(1, 1)).await {
                Ok(_) => tokio::task::yield_now().await,
                Err(err) => break err,
            }
        }
    })
    .await;
    (shutdown, refused)
}

#[tokio::test]
async fn graceful_shutdown_lets_the_call_in_flight_finish_then_closes_with_1001() {
    let Busy {
        server,
        client,
        in_flight,
        release,
    } = busy().await;
    let addr = server.local_addr().unwrap();

    let (shutdown, refused) = start_shutdown(server, &client).await;
    assert_eq!(
        refused.remote_code(),
        Some(ErrorCode::SHUTTING_DOWN),
        "{refused:?}"
    );
    assert!(refused.is_closed());
    // New connections are refused with 503 while draining, not reset.
    let err = rpc::Client::connect(&format!("ws://{addr}"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err:?}");

    release.add_permits(1);
    assert_eq!(
        within("in-flight call", in_flight).await.unwrap().unwrap(),
        "finished"
    );
    let reason = within("close", client.peer().closed()).await;
    assert_eq!(reason.code, close_code::GOING_AWAY);
    assert!(reason.by_peer);
    within("shutdown", shutdown).await.unwrap();
    // Once stopped, the server no longer accepts at all.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn a_hello_after_shutdown_began_is_closed_with_1013() {
    let Busy {
        server,
        client,
        in_flight,
        release,
    } = busy().await;
    let mut ws = raw::upgrade(server.local_addr().unwrap()).await;

    let (shutdown, refused) = start_shutdown(server, &client).await;
    assert_eq!(refused.remote_code(), Some(ErrorCode::SHUTTING_DOWN));
    raw::send_hello(&mut ws, 1, rpc::protocol::PROTOCOL_VERSION).await;
    let (code, reason) = within("close", raw::expect_close(&mut ws)).await;
    assert_eq!(code, close_code::TRY_AGAIN_LATER);
    assert_eq!(reason, "server is shutting down");
    drop(ws);

    release.add_permits(1);
    within("in-flight call", in_flight).await.unwrap().unwrap();
    within("shutdown", shutdown).await.unwrap();
}

#[tokio::test]
async fn a_server_with_an_endless_stream_stops_at_once_and_the_stream_ends_shutting_down() {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let (shutting_down_tx, mut shutting_down) = mpsc::unbounded_channel();
    let router = FnRouter::new("Feed")
        .stream("endless", |req| async move {
            // One item, then nothing ever again.
            let items = futures_util::stream::iter([1u64]).chain(futures_util::stream::pending());
            req.send_stream(items).await
        })
        .call("wait", move |req| {
            let (started, told) = (started_tx.clone(), shutting_down_tx.clone());
            async move {
                started.send(req.session().is_shutting_down()).unwrap();
                req.session().shutting_down().await;
                told.send(req.session().is_shutting_down()).unwrap();
                req.reply(&"told")
            }
        });
    let config = common::server_config().shutdown_grace(Duration::from_secs(600));
    let server = common::serve_with(router, config).await;
    let client = connect(&server).await;
    let mut stream = client
        .peer()
        .open::<_, u64>("endless", &(), rpc::StreamOptions::default())
        .await
        .unwrap();
    assert_eq!(
        within("first item", stream.next()).await.unwrap().unwrap(),
        1
    );
    let waiting = tokio::spawn({
        let peer = client.peer().clone();
        async move { peer.call::<_, String>("wait", &()).await }
    });
    assert!(!started.recv().await.unwrap(), "not shutting down yet");

    // Far less than the grace: nothing holds the shutdown.
    tokio::time::timeout(Duration::from_secs(5), server.shutdown())
        .await
        .expect("shutdown does not wait out the grace");

    let err = within("stream end", stream.next())
        .await
        .unwrap()
        .unwrap_err();
    let rpc::StreamError::Application(remote) = &err else {
        panic!("expected a shutting-down error, got {err:?}");
    };
    assert_eq!(remote.code(), ErrorCode::SHUTTING_DOWN);
    assert!(err.is_closed());
    assert!(shutting_down.recv().await.unwrap());
    assert_eq!(within("wait", waiting).await.unwrap().unwrap(), "told");
}

#[tokio::test]
async fn a_client_session_is_shutting_down_once_it_closes() {
    let (router, mut sessions) = FnRouter::new("Lobby").join_hands_out_sessions();
    let server = serve(router).await;
    let client = connect(&server).await;
    let () = client.peer().call("join", &()).await.unwrap();
    let server_side = sessions.recv().await.unwrap();
    assert!(!client.session().is_shutting_down());
    server_side.close();
    within("client told", client.session().shutting_down()).await;
    assert!(client.session().is_shutting_down());
}

#[tokio::test]
async fn shutdown_aborts_handlers_still_running_after_the_grace_period() {
    let (router, mut started, dropped) = stuck_router();
    let config = common::server_config().shutdown_grace(Duration::from_millis(100));
    let server = common::serve_with(router, config).await;
    let client = connect(&server).await;
    let call = tokio::spawn({
        let peer = client.peer().clone();
        async move { peer.call::<_, ()>("stuck", &()).await }
    });
    started.recv().await.unwrap();
    within("shutdown", server.shutdown()).await;
    within("handler dropped", dropped).await.unwrap();
    let err = within("call", call).await.unwrap().unwrap_err();
    assert!(err.is_closed(), "{err:?}");
}

#[tokio::test]
async fn calls_pending_on_a_vanished_server_all_resolve_closed() {
    // A fake server that completes the handshake, reads the calls, and then
    // drops the TCP connection without a close frame.
    let server = FakeServer::bind().await;
    let addr = server.addr();
    let (calls_seen_tx, calls_seen) = oneshot::channel();
    let fake = tokio::spawn(async move {
        let mut ws = server.accept().await;
        for _ in 0..3 {
            ws.expect_call("add").await;
        }
        calls_seen_tx.send(()).unwrap();
        ws.disconnect();
    });

    let client = within("connect", rpc::Client::connect(&format!("ws://{addr}")))
        .await
        .unwrap();
    let calls: Vec<_> = (0..3)
        .map(|i| {
            let peer = client.peer().clone();
            tokio::spawn(async move { peer.call::<_, i64>("add", &(i, i)).await })
        })
        .collect();
    calls_seen.await.unwrap();
    for call in calls {
        let err = within("pending call", call).await.unwrap().unwrap_err();
        assert!(err.is_closed(), "{err:?}");
    }
    let reason = client.peer().closed().await;
    assert_eq!(reason.code, close_code::ABNORMAL);
    // Calls after the end fail at once.
    let err = client
        .peer()
        .call::<_, i64>("add", &(1, 1))
        .await
        .unwrap_err();
    assert!(err.is_closed());
    fake.await.unwrap();
}

#[tokio::test]
async fn handlers_of_a_dropped_client_are_aborted() {
    let (router, mut started, dropped) = stuck_router();
    let server = serve(router).await;
    let client = connect(&server).await;
    // The session's own peer: a clone of `client.peer()` would hold the
    // connection open as the client does (tests/client_lifetime.rs).
    let call = tokio::spawn({
        let peer = client.session().peer();
        async move { peer.call::<_, ()>("stuck", &()).await }
    });
    started.recv().await.unwrap();
    drop(client);
    within("handler aborted", dropped).await.unwrap();
    let err = within("call", call).await.unwrap().unwrap_err();
    assert!(err.is_closed(), "{err:?}");
}

#[tokio::test]
async fn a_server_call_to_a_vanished_client_resolves_closed() {
    let (server_router, mut sessions) = FnRouter::new("Lobby").join_hands_out_sessions();
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let client_router = FnRouter::new("Stuck").call("wait", move |req| {
        let started = started_tx.clone();
        async move {
            started.send(()).unwrap();
            std::future::pending::<()>().await;
            req.reply(&())
        }
    });
    let server = serve(server_router).await;
    let client = common::connect_with(&server, client_router).await;
    let () = client.peer().call("join", &()).await.unwrap();
    let session = sessions.recv().await.unwrap();
    let pending = tokio::spawn(async move { session.peer().call::<_, ()>("wait", &()).await });
    started.recv().await.unwrap();
    drop(client);
    let err = within("server's pending call", pending)
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.is_closed(), "{err:?}");
}

#[tokio::test]
async fn one_connections_bad_input_does_not_disturb_another() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let server = serve(slow_router(started_tx, Arc::new(Semaphore::new(0)))).await;
    let good = connect(&server).await;
    let sum: i64 = good.peer().call("add", &(1, 2)).await.unwrap();
    assert_eq!(sum, 3);

    let garbage = Message::Binary(vec![0xde, 0xad, 0xbe, 0xef].into());
    assert_eq!(
        raw::close_after(server.local_addr().unwrap(), garbage)
            .await
            .0,
        close_code::PROTOCOL
    );
    let text = Message::Text("hello".into());
    assert_eq!(
        raw::close_after(server.local_addr().unwrap(), text).await.0,
        close_code::UNSUPPORTED_DATA
    );

    for i in 0..50i64 {
        let sum: i64 = within("good call", good.peer().call("add", &(i, 1)))
            .await
            .unwrap();
        assert_eq!(sum, i + 1);
    }
    assert!(!good.peer().is_closed());
}

#[tokio::test]
async fn colliding_method_names_are_refused_at_mount() {
    let first = FnRouter::new("First")
        .call("ping", |req| async move { req.reply(&()) })
        .finished();
    let second = FnRouter::new("Second")
        .call("ping", |req| async move { req.reply(&()) })
        .finished();
    let err = rpc::Server::builder()
        .mount(first)
        .mount(second)
        .bind("127.0.0.1:0")
        .await
        .unwrap_err();
    let rpc::ServeError::Mount(rpc::MountError::DuplicateMethod {
        method,
        first,
        second,
        ..
    }) = err
    else {
        panic!("expected a duplicate method error, got {err:?}");
    };
    assert_eq!(
        (method.as_str(), first.as_str(), second.as_str()),
        ("ping", "First", "Second")
    );

    // Reserved for the protocol, or longer than a peer may send (256 bytes).
    for name in ["rpc.discover".to_owned(), "n".repeat(257)] {
        let refused = FnRouter::new("Sneaky")
            .call(&name, |req| async move { req.reply(&()) })
            .finished();
        let err = rpc::Server::builder()
            .mount(refused)
            .bind("127.0.0.1:0")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                rpc::ServeError::Mount(rpc::MountError::InvalidName { .. })
            ),
            "{err:?}"
        );
    }
    // The longest name a peer may send mounts.
    let longest = FnRouter::new("Long")
        .call(&"n".repeat(256), |req| async move { req.reply(&()) })
        .finished();
    let server = rpc::Server::builder()
        .mount(longest)
        .bind("127.0.0.1:0")
        .await
        .expect("a 256-byte name mounts");
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_completes_when_a_peer_stops_reading() {
    let (answered_tx, mut answered) = mpsc::unbounded_channel();
    let router = FnRouter::new("Big").call("big", move |req| {
        let answered = answered_tx.clone();
        async move {
            let reply = req.reply(&"x".repeat(1 << 20));
            answered.send(()).unwrap();
            reply
        }
    });
    let config = common::server_config().shutdown_grace(Duration::from_millis(100));
    let server = common::serve_with(router, config).await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    // 64 calls whose 64 MiB of answers this client never reads: more than
    // the socket buffers of both ends hold (up to 32 MiB + 4 MiB on Linux),
    // so the server's writer blocks.
    for id in 1..=64u64 {
        let call = rpc::protocol::Frame::Call(rpc::protocol::Call {
            id,
            method: "big",
            headers: Vec::new(),
        });
        ws.send(Message::Binary(
            rpc::codec::encode_with(&call, &()).unwrap(),
        ))
        .await
        .unwrap();
    }
    for _ in 0..64 {
        within("handlers", answered.recv()).await.unwrap();
    }
    within("shutdown", server.shutdown()).await;
    drop(ws);
}
