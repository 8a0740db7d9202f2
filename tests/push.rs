//! Push: handles that reach a session from anywhere, priorities, policies,
//! the registry, broadcast, dead letters, rate limits and slow consumers.

mod common;

use std::time::Duration;

use common::{
    FnRouter, connect, connect_with, raw, serve, serve_with, server_config, session_config, within,
};
use futures_util::{SinkExt, StreamExt};
use rpc::{
    Audience, DeadLetterReason, Priority, PushError, PushPolicy, RateLimit, Server, codec,
    protocol::{Frame, close_code},
};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// A server whose `join` call tags the session with a room and an id.
fn lobby() -> FnRouter {
    FnRouter::new("Lobby").call("join", |req| async move {
        let (room, user): (String, String) = req.args()?;
        req.session().join("room", room)?;
        req.session().tag("user", user)?;
        req.reply(&req.session().id())
    })
}

/// A client router that forwards every `price` notification it receives.
fn listener(tx: mpsc::UnboundedSender<u64>) -> FnRouter {
    common::forwarder("Listener", "price", tx)
}

async fn dead_letter_server(
    router: FnRouter,
    config: rpc::ServerConfig,
) -> (Server, mpsc::Receiver<rpc::DeadLetter>) {
    let (tx, rx) = mpsc::channel(1024);
    let server = Server::builder()
        .config(config)
        .mount(router.finished())
        .dead_letters(tx)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    (server, rx)
}

#[tokio::test]
async fn a_push_handle_from_the_registry_reaches_the_clients_handler() {
    let server = serve(lobby()).await;
    let (tx, mut prices) = mpsc::unbounded_channel();
    let client = connect_with(&server, listener(tx)).await;
    let id: u64 = client.peer().call("join", &("rust", "42")).await.unwrap();

    let member = server.registry().get(id).expect("registered");
    assert_eq!(member.id(), id);
    assert!(member.remote_addr().unwrap().ip().is_loopback());
    assert_eq!(
        member.tags(),
        [("room".into(), "rust".into()), ("user".into(), "42".into())]
    );
    let handle = member.push_handle();
    handle.push("price", &101u64).await.unwrap();
    handle.try_push("price", &102u64).unwrap();
    assert_eq!(within("push", prices.recv()).await, Some(101));
    assert_eq!(within("push", prices.recv()).await, Some(102));

    // Typed calls go through the same handle.
    let routers = member.peer().expect("alive").discover().await.unwrap();
    assert_eq!(routers[0].name, "Listener");
}

#[tokio::test]
async fn the_registry_finds_sessions_by_tag_and_identity_and_forgets_them_when_they_end() {
    let server = Server::builder()
        .config(server_config())
        .mount(lobby().finished())
        .authenticate(|req| Ok(req.header("x-user").map(rpc::Identity::new)))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = common::url(&server);
    let alice = rpc::Client::builder()
        .header("x-user", "alice")
        .connect(&url)
        .await
        .unwrap();
    let bob = rpc::Client::builder()
        .header("x-user", "bob")
        .connect(&url)
        .await
        .unwrap();
    let _: u64 = alice.peer().call("join", &("rust", "1")).await.unwrap();
    let _: u64 = bob.peer().call("join", &("go", "2")).await.unwrap();

    assert_eq!(server.registry().len(), 2);
    let rust = server.registry().find(Audience::Tag("room", "rust"));
    assert_eq!(rust.len(), 1);
    assert_eq!(rust[0].id(), alice.session().id());
    assert_eq!(
        rust[0].identity().map(rpc::Identity::subject),
        Some("alice")
    );
    let bobs = server.registry().find(Audience::Identity("bob"));
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].id(), bob.session().id());
    assert!(bobs[0].has_tag("room", "go"));

    let bob_id = bobs[0].id();
    let handle = bobs[0].push_handle().clone();
    bob.close().await;
    // The handle does not keep the session alive.
    assert!(!handle.is_alive());
    assert!(matches!(
        handle.try_push("price", &1u64),
        Err(PushError::Closed)
    ));
    within(
        "bob leaves the registry",
        server.registry().departed(bob_id),
    )
    .await;
    assert_eq!(server.registry().len(), 1);
    assert!(server.registry().find(Audience::Identity("bob")).is_empty());
}

#[tokio::test]
async fn broadcast_reaches_every_tagged_session_and_reports_counts() {
    let server = serve(lobby()).await;
    let mut receivers = Vec::new();
    let mut clients = Vec::new();
    for (i, room) in ["rust", "rust", "rust", "go"].into_iter().enumerate() {
        let (tx, rx) = mpsc::unbounded_channel();
        let client = connect_with(&server, listener(tx)).await;
        let _: u64 = client
            .peer()
            .call("join", &(room, i.to_string()))
            .await
            .unwrap();
        receivers.push(rx);
        clients.push(client);
    }
    let report = server
        .registry()
        .broadcast(Audience::Tag("room", "rust"), "price", &7u64)
        .unwrap();
    assert_eq!((report.reached, report.full, report.closed), (3, 0, 0));
    for rx in &mut receivers[..3] {
        assert_eq!(within("broadcast", rx.recv()).await, Some(7));
    }
    let report = server
        .registry()
        .broadcast(Audience::All, "price", &8u64)
        .unwrap();
    assert_eq!(report.reached, 4);
    assert_eq!(within("broadcast", receivers[3].recv()).await, Some(8));
}

/// A raw client that joins (tagging itself) and then reads nothing until
/// told to: its pushes queue up at the server.
async fn silent_member(server: &Server) -> (raw::RawWs, u64) {
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    let call = Frame::Call(rpc::protocol::Call {
        id: 1,
        method: "join",
        headers: Vec::new(),
    });
    ws.send(Message::Binary(
        codec::encode_with(&call, &("quiet", "0")).unwrap(),
    ))
    .await
    .unwrap();
    let Some(Ok(Message::Binary(reply))) = ws.next().await else {
        panic!("no reply")
    };
    let decoded = codec::decode(&reply, usize::MAX).unwrap();
    let id: u64 = codec::decode_value(&decoded.payload).unwrap();
    (ws, id)
}

fn topic_and_value(message: &Message) -> (String, u64) {
    let Message::Binary(bytes) = message else {
        panic!("expected binary, got {message:?}")
    };
    let decoded = codec::decode(bytes, usize::MAX).unwrap();
    let Frame::Notify(notify) = decoded.frame else {
        panic!("expected notify")
    };
    (
        notify.topic.to_owned(),
        codec::decode_value(&decoded.payload).unwrap(),
    )
}

#[tokio::test]
async fn a_high_priority_push_overtakes_a_backlog_of_low_priority_ones() {
    let config = server_config().session(session_config().push_queue(2000));
    let server = serve_with(lobby(), config).await;
    let (mut ws, id) = silent_member(&server).await;
    let low = server.registry().get(id).unwrap().into_push_handle();
    let high = low.clone().with_priority(Priority::High);
    // Queued without yielding: the writer sees the whole backlog at once
    // (the test runtime has one thread).
    for n in 0..1000u64 {
        low.try_push("tick", &n).unwrap();
    }
    high.try_push("alert", &9999u64).unwrap();

    let mut seen = Vec::new();
    while seen.len() < 1001 {
        let message = within("pushes", ws.next()).await.unwrap().unwrap();
        seen.push(topic_and_value(&message));
    }
    let alert_at = seen.iter().position(|(topic, _)| topic == "alert").unwrap();
    assert!(
        alert_at < 128,
        "the alert came after {alert_at} low-priority pushes"
    );
    let ticks: Vec<u64> = seen
        .iter()
        .filter(|(t, _)| t == "tick")
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(
        ticks,
        (0..1000).collect::<Vec<_>>(),
        "low-priority pushes keep their order"
    );
}

#[tokio::test]
async fn full_queue_policies_and_dead_letters() {
    let config = server_config().session(session_config().push_queue(2));
    let (server, mut dead) = dead_letter_server(lobby(), config).await;
    let (_ws, id) = silent_member(&server).await;
    let handle = server.registry().get(id).unwrap().into_push_handle();
    // Block the writer from draining: these stay queued only if the writer
    // has not run yet, so fill and test without yielding.
    handle.try_push("tick", &1u64).unwrap();
    handle.try_push("tick", &2u64).unwrap();
    assert!(matches!(
        handle.try_push("tick", &3u64),
        Err(PushError::Full)
    ));
    let letter = dead.try_recv().expect("the refused push is a dead letter");
    assert_eq!(
        (letter.topic.as_str(), letter.reason),
        ("tick", DeadLetterReason::Full)
    );
    assert_eq!(codec::decode_value::<u64>(&letter.payload).unwrap(), 3);

    within(
        "drop oldest",
        handle.push_with_policy("tick", &4u64, PushPolicy::DropOldest),
    )
    .await
    .unwrap();
    let letter = dead.try_recv().expect("the evicted push is a dead letter");
    assert_eq!(letter.reason, DeadLetterReason::Evicted);
    assert_eq!(codec::decode_value::<u64>(&letter.payload).unwrap(), 1);

    let err = within(
        "drop newest",
        handle.push_with_policy("tick", &5u64, PushPolicy::DropNewest),
    )
    .await;
    assert!(matches!(err, Err(PushError::Full)));
    assert_eq!(dead.try_recv().unwrap().reason, DeadLetterReason::Full);
}

#[tokio::test]
async fn pushes_to_a_closed_session_become_dead_letters() {
    let (server, mut dead) = dead_letter_server(lobby(), server_config()).await;
    let (tx, _prices) = mpsc::unbounded_channel();
    let client = connect_with(&server, listener(tx)).await;
    let id: u64 = client.peer().call("join", &("rust", "1")).await.unwrap();
    let handle = server.registry().get(id).unwrap().into_push_handle();
    client.close().await;
    for n in 0..3u64 {
        assert!(matches!(
            handle.push("price", &n).await,
            Err(PushError::Closed)
        ));
    }
    for n in 0..3u64 {
        let letter = within("dead letter", dead.recv()).await.unwrap();
        assert_eq!(letter.reason, DeadLetterReason::Closed);
        assert_eq!(letter.session_id, id);
        assert_eq!(codec::decode_value::<u64>(&letter.payload).unwrap(), n);
    }
}

#[tokio::test]
async fn a_push_handle_rate_limit_refuses_the_excess() {
    let server = serve(lobby()).await;
    let (tx, mut prices) = mpsc::unbounded_channel();
    let client = connect_with(&server, listener(tx)).await;
    let id: u64 = client.peer().call("join", &("rust", "1")).await.unwrap();
    let handle = server
        .registry()
        .get(id)
        .unwrap()
        .into_push_handle()
        .with_rate_limit(RateLimit::new(1, 3));
    for n in 0..3u64 {
        handle.push("price", &n).await.unwrap();
    }
    assert!(matches!(
        handle.push("price", &99u64).await,
        Err(PushError::RateLimited)
    ));
    for n in 0..3u64 {
        assert_eq!(within("push", prices.recv()).await, Some(n));
    }
}

#[tokio::test]
async fn inbound_calls_over_the_rate_limit_are_refused_then_the_abuser_is_closed() {
    let session = session_config()
        .inbound_rate(Some(RateLimit::new(1, 5)))
        .max_rate_refusals(10);
    let server = serve_with(lobby(), server_config().session(session)).await;
    let client = connect(&server).await;
    // The burst of 5 passes; the first refusal follows it (a slow machine
    // may earn a token or two meanwhile, at 1 per second).
    let mut passed = 0;
    let err = loop {
        match client
            .peer()
            .call::<_, u64>("join", &("r", passed.to_string()))
            .await
        {
            Ok(_) => passed += 1,
            Err(err) => break err,
        }
        assert!(
            passed <= 10,
            "10 calls passed a limit of 1/s with bursts of 5"
        );
    };
    assert!(passed >= 5, "the burst of 5 was not honoured: {passed}");
    assert!(err.is_busy(), "{err:?}");
    assert!(err.to_string().contains("rate limit"), "{err}");
    // Keep hammering: after 10 refusals in a row the session is closed.
    for _ in 0..20 {
        if client
            .peer()
            .call::<_, u64>("join", &("r", "x"))
            .await
            .is_err_and(|e| e.is_closed())
        {
            break;
        }
    }
    let reason = within("closed", client.peer().closed()).await;
    assert_eq!(reason.code, close_code::POLICY);
    assert!(reason.reason.contains("rate limit"), "{}", reason.reason);
}

#[tokio::test]
async fn a_slow_consumer_is_bounded_and_closed_without_affecting_others() {
    let session = session_config()
        .push_queue(64)
        .slow_consumer_grace(Duration::from_millis(300));
    let server = serve_with(lobby(), server_config().session(session)).await;
    let (tx, mut prices) = mpsc::unbounded_channel();
    let healthy = connect_with(&server, listener(tx)).await;
    let healthy_id: u64 = healthy.peer().call("join", &("r", "ok")).await.unwrap();
    let (slow_ws, slow_id) = silent_member(&server).await;

    let slow = server.registry().get(slow_id).unwrap().into_push_handle();
    let payload = "x".repeat(64 << 10);
    let mut full = 0;
    // 64 KiB pushes until the socket buffers and the queue are full; the
    // queue never holds more than its 64 frames.
    for _ in 0..2000 {
        match slow.try_push("price", &payload) {
            Ok(()) => {}
            Err(PushError::Full) => {
                full += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Err(PushError::Closed) => break,
            Err(other) => panic!("{other}"),
        }
    }
    assert!(full > 0, "the queue filled up");
    within("slow consumer closed", server.registry().departed(slow_id)).await;
    assert!(!slow.is_alive());
    drop(slow_ws);

    // The healthy session is untouched.
    server
        .registry()
        .get(healthy_id)
        .unwrap()
        .push_handle()
        .push("price", &5u64)
        .await
        .unwrap();
    assert_eq!(within("healthy push", prices.recv()).await, Some(5));
}

#[tokio::test]
async fn a_push_over_the_clients_limit_is_refused_and_dead_lettered() {
    let (server, mut dead) = dead_letter_server(lobby(), server_config()).await;
    let (tx, mut prices) = mpsc::unbounded_channel();
    let client = rpc::Client::builder()
        .config(rpc::ClientConfig::default().session(session_config().max_message_size(1024)))
        .mount(listener(tx).finished())
        .connect(&common::url(&server))
        .await
        .unwrap();
    let id: u64 = client.peer().call("join", &("rust", "1")).await.unwrap();
    let handle = server.registry().get(id).unwrap().into_push_handle();
    let err = handle.try_push("price", &"x".repeat(4096)).unwrap_err();
    assert!(
        matches!(err, PushError::TooLarge { max: 1024, .. }),
        "{err:?}"
    );
    assert_eq!(dead.try_recv().unwrap().reason, DeadLetterReason::TooLarge);
    let report = server
        .registry()
        .broadcast(Audience::All, "price", &"x".repeat(4096))
        .unwrap();
    assert_eq!((report.reached, report.too_large), (0, 1));
    // The session is intact.
    handle.push("price", &7u64).await.unwrap();
    assert_eq!(within("push", prices.recv()).await, Some(7));
}
