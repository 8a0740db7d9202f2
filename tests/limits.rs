//! Every limit crossed: call timeout, handler deadline, in-flight calls,
//! message size, text messages, malformed frames, WebSocket protocol
//! violations, connections, handshake time.

mod common;

use std::{sync::Arc, time::Duration};

use common::{
    CallTimer, FnRouter, connect, raw, serve, serve_with, server_config, session_config, url,
    within,
};
use futures_util::SinkExt;
use rpc::{CallOptions, Client, ErrorCode, protocol::close_code};
use tokio::{
    io::AsyncReadExt,
    net::TcpStream,
    sync::{Semaphore, mpsc, oneshot},
    time::Instant,
};
use tokio_tungstenite::tungstenite::Message;

// Timeouts run over the in-memory pair on a paused clock: each passes in
// an instant, and exactly when it should.

#[tokio::test(start_paused = true)]
async fn a_call_times_out_and_its_handler_is_cancelled() {
    let (started_tx, started) = mpsc::unbounded_channel();
    let (dropped_tx, dropped) = oneshot::channel();
    let router = common::blocking(started_tx, Arc::new(Semaphore::new(0)), Some(dropped_tx));
    common::assert_an_abandoned_block_is_dropped(router, started, dropped, CallTimer::Own).await;
}

#[tokio::test(start_paused = true)]
async fn the_longest_timeouts_mean_never_rather_than_an_overflow() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let router = common::blocking(started_tx, Arc::new(Semaphore::new(0)), None);
    let config = server_config().session(session_config().handler_timeout(Some(Duration::MAX)));
    let client = session_config().call_timeout(Duration::MAX);
    let pair = common::pair(router.all_inline(), config, client).await;
    let options = CallOptions::default().timeout(Duration::MAX);
    let sum: i64 = pair
        .client
        .peer()
        .call_with("add", &(1, 2), options)
        .await
        .unwrap();
    assert_eq!(sum, 3);
    // A handler that waits arms its deadline: still no overflow, and a day
    // later it has not expired.
    let waiting = pair.client.peer().call::<_, String>("block", &());
    let outcome = tokio::time::timeout(Duration::from_secs(86_400), waiting).await;
    assert!(outcome.is_err(), "still waiting: {outcome:?}");
}

#[tokio::test(start_paused = true)]
async fn the_default_call_timeout_applies_and_cancels_the_handler() {
    let (started_tx, started) = mpsc::unbounded_channel();
    let (dropped_tx, dropped) = oneshot::channel();
    let router = common::blocking(started_tx, Arc::new(Semaphore::new(0)), Some(dropped_tx));
    common::assert_an_abandoned_block_is_dropped(router, started, dropped, CallTimer::Session)
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_shorter_timeout_expires_first_while_default_ones_wait() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let router = common::blocking(started_tx, Arc::new(Semaphore::new(0)), None);
    let client = session_config().call_timeout(Duration::from_secs(30));
    let pair = common::pair(router, server_config(), client).await;
    let peer = pair.client.peer();
    let begun = Instant::now();
    let timed = |options: Option<CallOptions>| {
        let peer = peer.clone();
        async move {
            let outcome = match options {
                None => peer.call::<_, String>("block", &()).await,
                Some(options) => peer.call_with::<_, String>("block", &(), options).await,
            };
            (outcome.unwrap_err().is_timeout(), begun.elapsed())
        }
    };
    let (default, short, later_default) = tokio::join!(
        timed(None),
        timed(Some(CallOptions::default().timeout(Duration::from_secs(5)))),
        async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            timed(None).await
        },
    );
    assert_eq!(short, (true, Duration::from_secs(5)));
    assert_eq!(default, (true, Duration::from_secs(30)));
    assert_eq!(later_default, (true, Duration::from_secs(31)));
}

#[tokio::test(start_paused = true)]
async fn a_handler_past_its_deadline_answers_timeout() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let (dropped_tx, dropped) = oneshot::channel();
    let router = common::blocking(started_tx, Arc::new(Semaphore::new(0)), Some(dropped_tx));
    common::assert_block_meets_its_deadline(router, dropped).await;
}

#[tokio::test]
async fn calls_over_the_in_flight_limit_are_refused_busy() {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let config = server_config().session(session_config().max_in_flight(2));
    let server = serve_with(
        common::blocking(started_tx, Arc::clone(&release), None),
        config,
    )
    .await;
    // A peer that ignores the limit the server announced (this library's
    // clients keep within it: tests/peer_limit.rs).
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    raw::send_call(&mut ws, 1, "block").await;
    raw::send_call(&mut ws, 2, "block").await;
    started.recv().await.unwrap();
    started.recv().await.unwrap();

    raw::send_call(&mut ws, 3, "block").await;
    let refusal = within("the refusal", raw::next_binary(&mut ws)).await;
    let decoded = rpc::codec::decode(&refusal, usize::MAX).unwrap();
    let rpc::protocol::Frame::Error(error) = decoded.frame else {
        panic!("expected an error frame, got {:?}", decoded.frame);
    };
    assert_eq!((error.id, error.code), (3, ErrorCode::BUSY));
    assert!(
        error.message.contains("2 requests already in flight"),
        "{}",
        error.message
    );

    // Once the two finish there is room again.
    release.add_permits(2);
    for _ in 0..2 {
        let answer = within("an answer", raw::next_binary(&mut ws)).await;
        let decoded = rpc::codec::decode(&answer, usize::MAX).unwrap();
        assert!(matches!(decoded.frame, rpc::protocol::Frame::Reply(_)));
    }
    let client = connect(&server).await;
    let sum: i64 = client.peer().call("add", &(1, 2)).await.unwrap();
    assert_eq!(sum, 3);
}

#[tokio::test]
async fn requests_over_the_inbound_budget_are_refused_busy_until_handlers_finish() {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let config = server_config().session(session_config().inbound_budget(1000));
    let server = serve_with(
        common::blocking(started_tx, Arc::clone(&release), None),
        config,
    )
    .await;
    let client = connect(&server).await;
    let bulky = ("x".repeat(600),);

    let first = tokio::spawn({
        let (peer, bulky) = (client.peer().clone(), bulky.clone());
        async move { peer.call::<_, String>("block", &bulky).await }
    });
    started.recv().await.unwrap();
    // 600 bytes are held by the running handler; 600 more would pass 1000.
    let err = within(
        "second call",
        client.peer().call::<_, String>("block", &bulky),
    )
    .await
    .unwrap_err();
    assert!(err.is_busy(), "{err:?}");
    assert!(
        err.to_string().contains("inbound budget of 1000 bytes"),
        "{err}"
    );
    // A small request still fits beside it.
    let sum: i64 = within("small call", client.peer().call("add", &(1, 2)))
        .await
        .unwrap();
    assert_eq!(sum, 3);

    release.add_permits(1);
    assert_eq!(within("first", first).await.unwrap().unwrap(), "released");
    release.add_permits(1);
    let again = within(
        "after release",
        client.peer().call::<_, String>("block", &bulky),
    )
    .await;
    assert_eq!(again.unwrap(), "released");
}

async fn small_message_server() -> rpc::Server {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let config = server_config().session(session_config().max_message_size(1024));
    serve_with(
        common::blocking(started_tx, Arc::new(Semaphore::new(0)), None),
        config,
    )
    .await
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009() {
    let server = small_message_server().await;
    let (code, reason) = raw::close_after(
        server.local_addr().unwrap(),
        Message::Binary(vec![0u8; 4096].into()),
    )
    .await;
    assert_eq!(code, close_code::TOO_BIG);
    assert!(
        reason.contains("exceeds the limit of 1024 bytes"),
        "{reason}"
    );
}

#[tokio::test]
async fn an_oversized_frame_header_is_refused_before_its_payload_arrives() {
    let server = small_message_server().await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    // A masked binary frame header announcing 1 GiB, and no payload at all:
    // a server that waited for the payload would never answer.
    let mut header = vec![0x82, 0xFF];
    header.extend_from_slice(&(1u64 << 30).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    raw::write_raw(&mut ws, &header).await;
    let (code, _) = within("close", raw::expect_close(&mut ws)).await;
    assert_eq!(code, close_code::TOO_BIG);
}

#[tokio::test]
async fn an_answer_over_the_callers_limit_is_refused_without_closing() {
    let router = FnRouter::new("Big")
        .call("big", |req| async move { req.reply(&"x".repeat(8192)) })
        .call("small", |req| async move { req.reply(&1u8) });
    let server = serve(router).await;
    // The client announces its 1 KiB limit in its Hello.
    let client = Client::builder()
        .config(rpc::ClientConfig::default().session(session_config().max_message_size(1024)))
        .connect(&url(&server))
        .await
        .unwrap();
    let err = within("call", client.peer().call::<_, String>("big", &()))
        .await
        .unwrap_err();
    assert_eq!(err.remote_code(), Some(ErrorCode::TOO_LARGE), "{err:?}");
    assert!(err.to_string().contains("1024"), "{err}");
    let small: u8 = within("call", client.peer().call("small", &()))
        .await
        .unwrap();
    assert_eq!(small, 1);
}

#[tokio::test]
async fn a_request_over_the_peers_limit_fails_locally() {
    let router = FnRouter::new("Echo").call("echo", |req| async move {
        let (text,): (String,) = req.args()?;
        req.reply(&text)
    });
    let config = server_config().session(session_config().max_message_size(1024));
    let server = serve_with(router, config).await;
    let client = connect(&server).await;
    assert_eq!(client.server_limits().max_message_size, 1024);
    let err = within(
        "call",
        client
            .peer()
            .call::<_, String>("echo", &("x".repeat(4096),)),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, rpc::Error::TooLarge { max: 1024, .. }),
        "{err:?}"
    );
    let err = client
        .peer()
        .cast("echo", &("x".repeat(4096),))
        .await
        .unwrap_err();
    assert!(matches!(err, rpc::Error::TooLarge { .. }), "{err:?}");
    // Nothing was sent: the session is intact.
    let echoed: String = within("call", client.peer().call("echo", &("hi",)))
        .await
        .unwrap();
    assert_eq!(echoed, "hi");
}

#[tokio::test]
async fn a_text_message_closes_with_1003() {
    let server = small_message_server().await;
    let text = Message::Text("{\"method\":\"add\"}".into());
    let (code, reason) = raw::close_after(server.local_addr().unwrap(), text).await;
    assert_eq!(code, close_code::UNSUPPORTED_DATA);
    assert!(reason.contains("binary"), "{reason}");
}

#[tokio::test]
async fn garbage_bytes_close_with_1002_and_a_reason() {
    let server = small_message_server().await;
    let garbage = Message::Binary(vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff].into());
    let (code, reason) = raw::close_after(server.local_addr().unwrap(), garbage).await;
    assert_eq!(code, close_code::PROTOCOL);
    assert!(reason.starts_with("malformed frame"), "{reason}");
}

/// Each WebSocket protocol violation, as raw bytes after a good handshake.
#[tokio::test]
async fn websocket_protocol_violations_close_with_1002() {
    let server = small_message_server().await;
    let mask = [0x11, 0x22, 0x33, 0x44];
    let violations: [(&str, Vec<u8>); 4] = [
        ("reserved opcode", [&[0x83, 0x80][..], &mask].concat()),
        ("unmasked client frame", vec![0x82, 0x01, 0x00]),
        (
            "fragmented control frame",
            [&[0x09, 0x80][..], &mask].concat(),
        ),
        (
            "reserved bits without an extension",
            [&[0xC2, 0x80][..], &mask].concat(),
        ),
    ];
    for (what, bytes) in violations {
        let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
        raw::write_raw(&mut ws, &bytes).await;
        let (code, reason) = within(what, raw::expect_close(&mut ws)).await;
        assert_eq!(code, close_code::PROTOCOL, "{what}: {reason}");
        assert!(!reason.is_empty(), "{what}: the close frame says why");
    }
}

#[tokio::test]
async fn connections_over_the_limit_are_refused_with_503() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let config = server_config().max_connections(1);
    let server = serve_with(
        common::blocking(started_tx, Arc::new(Semaphore::new(0)), None),
        config,
    )
    .await;
    let first = connect(&server).await;

    let err = within("second connect", Client::connect(&url(&server)))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err:?}");

    // The first is unaffected, and its slot frees when it leaves.
    let sum: i64 = first.peer().call("add", &(2, 2)).await.unwrap();
    assert_eq!(sum, 4);
    first.close().await;
    within("slot released", async {
        while server.connections() > 0 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let third = within("third connect", Client::connect(&url(&server)))
        .await
        .unwrap();
    let sum: i64 = third.peer().call("add", &(3, 3)).await.unwrap();
    assert_eq!(sum, 6);
}

#[tokio::test]
async fn a_flood_over_the_connection_limit_costs_a_bounded_number_of_tasks() {
    use tokio::io::AsyncReadExt;

    let (started_tx, _started) = mpsc::unbounded_channel();
    // A long handshake timeout: each silent connection over the limit would
    // hold a task for a minute if nothing bounded them.
    let config = server_config()
        .max_connections(1)
        .handshake_timeout(Duration::from_secs(60));
    let server = serve_with(
        common::blocking(started_tx, Arc::new(Semaphore::new(0)), None),
        config,
    )
    .await;
    let first = connect(&server).await;
    // 64 silent connections over the limit, each waiting to be told 503.
    let mut waiting = Vec::new();
    for _ in 0..64 {
        waiting.push(
            tokio::net::TcpStream::connect(server.local_addr().unwrap())
                .await
                .unwrap(),
        );
    }
    // The next is closed at once, without a task or an answer.
    let mut flood = tokio::net::TcpStream::connect(server.local_addr().unwrap())
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    let read = within("closed at once", flood.read(&mut byte)).await;
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // The session inside the limit is unaffected.
    let sum: i64 = first.peer().call("add", &(2, 2)).await.unwrap();
    assert_eq!(sum, 4);
    drop(waiting);
}

#[tokio::test]
async fn a_silent_tcp_client_is_dropped_at_the_handshake_timeout() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let config = server_config().handshake_timeout(Duration::from_millis(200));
    let server = serve_with(
        common::blocking(started_tx, Arc::new(Semaphore::new(0)), None),
        config,
    )
    .await;
    let mut tcp = TcpStream::connect(server.local_addr().unwrap())
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let read = within("server hangs up", tcp.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "expected the server to hang up, got {read:?}"
    );
}

#[tokio::test]
async fn a_client_that_upgrades_but_never_says_hello_is_closed_with_1008() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let config = server_config().handshake_timeout(Duration::from_millis(300));
    let server = serve_with(
        common::blocking(started_tx, Arc::new(Semaphore::new(0)), None),
        config,
    )
    .await;
    let mut ws = raw::upgrade(server.local_addr().unwrap()).await;
    let (code, reason) = within("close", raw::expect_close(&mut ws)).await;
    assert_eq!(code, close_code::POLICY);
    assert!(reason.contains("handshake"), "{reason}");
}

#[tokio::test]
async fn a_client_with_no_common_version_is_closed_with_1002() {
    let server = small_message_server().await;
    let mut ws = raw::upgrade(server.local_addr().unwrap()).await;
    raw::send_hello(&mut ws, 7, 9).await;
    let (code, reason) = within("close", raw::expect_close(&mut ws)).await;
    assert_eq!(code, close_code::PROTOCOL);
    assert!(reason.contains("no common protocol version"), "{reason}");
}

#[tokio::test]
async fn invalid_configuration_is_refused_at_bind() {
    let err = rpc::Server::builder()
        .config(server_config().session(session_config().max_in_flight(0)))
        .bind("127.0.0.1:0")
        .await
        .unwrap_err();
    assert!(
        matches!(err, rpc::ServeError::Config(ref c) if c.field() == "max_in_flight"),
        "{err:?}"
    );
}

#[tokio::test]
async fn connecting_to_a_server_that_never_upgrades_times_out() {
    // Accepts TCP connections and never answers the upgrade request.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let config = rpc::ClientConfig::default().connect_timeout(Duration::from_millis(200));
    let err = within(
        "connect",
        Client::builder()
            .config(config)
            .connect(&format!("ws://{addr}")),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, rpc::ConnectError::Timeout(d) if d == Duration::from_millis(200)),
        "{err:?}"
    );
    holder.abort();
}

#[tokio::test]
async fn the_outbound_budget_bounds_bytes_for_a_peer_that_stops_reading() {
    let (router, mut sessions) = FnRouter::new("Lobby").join_hands_out_sessions();
    // Whole 1 MiB frames (no fragments) and room for only 2 in the budget.
    let session = session_config()
        .outbound_budget(3 << 20)
        .fragment_size(4 << 20)
        .max_message_size(8 << 20)
        .max_reassembly(8 << 20);
    let server = serve_with(router, server_config().session(session)).await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    raw::send_call(&mut ws, 1, "join").await;
    let session = within("join", sessions.recv()).await.unwrap();
    let peer = session.peer();

    // The client never reads again: once the socket buffers are full the
    // writer blocks, two casts fill the budget, and the next one waits.
    let args = ("x".repeat(1 << 20),);
    let mut queued = 0;
    let waiting = loop {
        let mut cast = Box::pin(peer.cast("news", &args));
        match tokio::time::timeout(Duration::from_millis(500), &mut cast).await {
            Ok(sent) => {
                sent.unwrap();
                queued += 1;
                assert!(queued < 200, "200 MiB queued for a peer that reads nothing");
            }
            // Still waiting for room: keep this very cast.
            Err(_) => break cast,
        }
    };
    assert!(
        queued >= 2,
        "the budget holds 2 frames; {queued} went through"
    );
    // What waits resolves, with the session's end, when the session closes.
    session.close();
    let err = within("waiting cast", waiting).await.unwrap_err();
    assert!(err.is_closed(), "{err:?}");
    drop(ws);
}

#[tokio::test]
async fn a_cast_over_the_in_flight_limit_is_refused_with_an_error_of_id_0() {
    use futures_util::StreamExt;
    use rpc::protocol::{Cast, Frame};

    let (started_tx, mut started) = mpsc::unbounded_channel();
    let config = server_config().session(session_config().max_in_flight(1));
    let server = serve_with(
        common::blocking(started_tx, Arc::new(Semaphore::new(0)), None),
        config,
    )
    .await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    raw::send_call(&mut ws, 1, "block").await;
    within("handler", started.recv()).await.unwrap();
    let cast = Frame::Cast(Cast {
        method: "add",
        headers: Vec::new(),
    });
    ws.send(Message::Binary(
        rpc::codec::encode_with(&cast, &(1i64, 2i64)).unwrap(),
    ))
    .await
    .unwrap();
    let Some(Ok(Message::Binary(answer))) = within("refusal", ws.next()).await else {
        panic!("no refusal");
    };
    let Frame::Error(error) = rpc::codec::decode(&answer, usize::MAX).unwrap().frame else {
        panic!("expected an error frame");
    };
    assert_eq!(
        (error.id, error.code),
        (0, ErrorCode::BUSY),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("1 requests already in flight"),
        "{}",
        error.message
    );
}
