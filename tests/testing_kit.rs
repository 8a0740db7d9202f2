//! The test kit itself (`rpc::testing`): each helper does what its
//! documentation says. `TestServer` serves and shuts down; `FakePeer`
//! shakes hands, calls, injects malformed messages and raw socket bytes and
//! reads the server's close; `FakeServer` answers a real client's
//! handshake with the limits it was given, asserts its calls, answers them
//! and drops the connection under a pending call; `RouterHarness` runs
//! handlers with headers, an identity and session state, and no
//! connection.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use rpc::{
    Client, Error, ErrorCode, Extension, Headers, Identity, Server, Session, codec,
    protocol::{Cast, Frame, Limits, close_code},
    testing::{FakePeer, FakeServer, RouterHarness, TestServer},
};

/// Per-session state a test stores with `RouterHarness::extension`.
#[derive(Clone, Default)]
struct Visits(Arc<AtomicU64>);

struct Kit;

/// What the kit's tests call.
#[rpc::router]
impl Kit {
    /// Adds two numbers.
    #[rpc::call]
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    /// The caller's subject; refused when anonymous.
    #[rpc::call]
    async fn whoami(&self, identity: Identity) -> String {
        identity.subject().to_owned()
    }

    /// The `lang` header.
    #[rpc::call]
    async fn lang(&self, headers: Headers) -> Option<String> {
        headers.get("lang").map(str::to_owned)
    }

    /// Counts the session's visits.
    #[rpc::call]
    async fn visit(&self, visits: Extension<Visits>) -> u64 {
        visits.0.0.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Tags the session.
    #[rpc::cast]
    async fn join(&self, session: &Session, room: String) {
        let _ = session.join("room", room);
    }

    /// Fails with an application error.
    #[rpc::call]
    async fn halve(&self, n: u32) -> Result<u32, String> {
        if n.is_multiple_of(2) {
            Ok(n / 2)
        } else {
            Err(format!("{n} is odd"))
        }
    }

    /// Never answers; its deadline ends it.
    #[rpc::call(timeout = "5s")]
    async fn stall(&self) -> u8 {
        std::future::pending().await
    }
}

async fn kit_server() -> TestServer {
    TestServer::start(Server::builder().mount(Kit))
        .await
        .expect("the server starts")
}

// ---- TestServer ----

#[tokio::test]
async fn a_test_server_serves_on_127_0_0_1_and_shuts_down() {
    let server = kit_server().await;
    assert!(server.addr().ip().is_loopback());
    assert_ne!(server.addr().port(), 0);
    assert_eq!(server.url(), format!("ws://{}", server.addr()));
    let client = server.client().await.expect("the client connects");
    let sum: i64 = client.peer().call("add", &(2, 3)).await.unwrap();
    assert_eq!(sum, 5);
    assert_eq!(server.server().connections(), 1);
    let url = server.url();
    client.close().await;
    server.shutdown().await;
    assert!(
        Client::connect(&url).await.is_err(),
        "nothing listens after the shutdown"
    );
}

// ---- FakePeer against a real server ----

#[tokio::test]
async fn a_fake_peer_shakes_hands_calls_and_reads_answers_and_errors() {
    let server = kit_server().await;
    let mut peer = FakePeer::connect(server.addr()).await;
    let welcome = peer.welcome().expect("the handshake kept the welcome");
    assert_eq!(
        welcome.limits.max_message_size,
        u32::try_from(rpc::SessionConfig::default().max_message_size).unwrap()
    );
    peer.call(1, "add", &(40i64, 2i64)).await;
    assert_eq!(peer.expect_reply::<i64>(1).await, 42);
    peer.call(2, "nowhere", &()).await;
    let (code, message) = peer.expect_error(2).await;
    assert_eq!(code, ErrorCode::UNKNOWN_METHOD);
    assert!(message.contains("nowhere"), "{message}");
    // A typed frame built by hand: a cast, answered by nothing; a call
    // after it shows the server read it.
    let cast = Cast {
        method: "join",
        headers: Vec::new(),
    };
    peer.send(&Frame::Cast(cast), &("lobby",)).await;
    peer.call(3, "add", &(1i64, 1i64)).await;
    let received = peer.expect_frame().await;
    assert!(
        matches!(received.frame(), Frame::Reply(reply) if reply.id == 3),
        "{received:?}"
    );
    assert_eq!(received.value::<i64>(), 2);
}

#[tokio::test]
async fn a_malformed_frame_injected_closes_with_1002_and_a_reason() {
    let server = kit_server().await;
    let mut peer = FakePeer::connect(server.addr()).await;
    peer.send_raw(vec![0xff, 0xff, 0xff, 0xff]).await;
    let closed = peer.closed().await;
    assert_eq!(closed.code, close_code::PROTOCOL, "{closed:?}");
    assert!(closed.reason.contains("malformed frame"), "{closed:?}");
    assert!(closed.by_peer, "the server closed, not the fake");
}

#[tokio::test]
async fn text_closes_with_1003() {
    let server = kit_server().await;
    let mut peer = FakePeer::connect(server.addr()).await;
    peer.send_text("{\"jsonrpc\": \"2.0\"}").await;
    let closed = peer.closed().await;
    assert_eq!(closed.code, close_code::UNSUPPORTED_DATA, "{closed:?}");
}

#[tokio::test]
async fn a_header_written_to_the_socket_announcing_a_gib_closes_with_1009() {
    let server = kit_server().await;
    let mut peer = FakePeer::connect(server.addr()).await;
    peer.write_header(0x82, 1 << 30).await;
    peer.write_socket(b"a start").await;
    let closed = peer.closed().await;
    assert_eq!(closed.code, close_code::TOO_BIG, "{closed:?}");
}

#[tokio::test]
async fn a_fake_peer_without_the_handshake_sends_its_own_hello() {
    let server = kit_server().await;
    let mut peer = FakePeer::upgrade(server.addr()).await;
    assert!(peer.welcome().is_none());
    let limits = Limits {
        max_in_flight: 1,
        ..FakePeer::UNLIMITED
    };
    let welcome = peer.handshake(limits).await;
    assert_eq!(peer.welcome(), Some(&welcome));
    // A call before the handshake would have been refused; after, it runs.
    peer.call(1, "add", &(1i64, 2i64)).await;
    assert_eq!(peer.expect_reply::<i64>(1).await, 3);
}

#[tokio::test]
async fn a_fake_peers_close_is_answered_with_the_same_code() {
    let server = kit_server().await;
    let mut peer = FakePeer::connect(server.addr()).await;
    peer.close(close_code::NORMAL, "done").await;
    assert_eq!(peer.closed().await.code, close_code::NORMAL);
}

#[tokio::test]
#[should_panic(expected = "expected the reply to call 1, received")]
async fn an_unexpected_frame_fails_the_test_naming_both() {
    let server = kit_server().await;
    let mut peer = FakePeer::connect(server.addr()).await;
    peer.call(1, "nowhere", &()).await;
    let _: i64 = peer.expect_reply(1).await;
}

#[tokio::test]
#[should_panic(expected = "expected a frame, nothing came within 50ms")]
async fn silence_fails_the_test_after_the_patience() {
    let server = kit_server().await;
    let mut peer = FakePeer::connect(server.addr())
        .await
        .patience(Duration::from_millis(50));
    peer.expect_frame().await;
}

// ---- FakeServer against a real client ----

/// A client of `fake`, and the fake's side of its connection.
async fn against(fake: &FakeServer) -> (FakePeer, Client) {
    let url = fake.url();
    let (peer, client) = tokio::join!(fake.accept(), Client::connect(&url));
    (peer, client.expect("the client connects to the fake"))
}

#[tokio::test]
async fn a_fake_server_welcomes_with_its_limits_and_answers_calls() {
    let limits = Limits {
        max_in_flight: 3,
        ..FakeServer::LIMITS
    };
    let fake = FakeServer::bind().await.limits(limits);
    let (mut server, client) = against(&fake).await;
    assert!(server.hello().is_some(), "the fake kept the client's hello");
    assert_eq!(client.server_limits(), limits);

    let peer = client.peer().clone();
    let call = tokio::spawn(async move { peer.call::<_, u64>("ping", &(7u8,)).await });
    let (id, args) = server.expect_call("ping").await;
    assert_eq!(codec::decode_value::<(u8,)>(&args).unwrap(), (7,));
    server.reply(id, &42u64).await;
    assert_eq!(call.await.unwrap().unwrap(), 42);

    let peer = client.peer().clone();
    let call = tokio::spawn(async move { peer.call::<_, u64>("fail", &()).await });
    let (id, _) = server.expect_call("fail").await;
    server.error(id, ErrorCode::APPLICATION, "no luck").await;
    match call.await.unwrap() {
        Err(Error::Remote(remote)) => {
            assert_eq!(
                (remote.code(), remote.message()),
                (ErrorCode::APPLICATION, "no luck")
            );
        }
        other => panic!("expected the fake's error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_simulated_disconnect_fails_a_pending_call_as_indeterminate() {
    let fake = FakeServer::bind().await;
    let (mut server, client) = against(&fake).await;
    let peer = client.peer().clone();
    let call = tokio::spawn(async move { peer.call::<_, u64>("pending", &()).await });
    server.expect_call("pending").await;
    server.disconnect();
    match call.await.unwrap() {
        Err(Error::Indeterminate(reason)) => {
            assert_eq!(reason.code, close_code::ABNORMAL, "{reason:?}");
        }
        other => panic!("expected Error::Indeterminate, got {other:?}"),
    }
}

#[tokio::test]
async fn a_malformed_answer_from_a_fake_server_closes_the_client_with_1002() {
    let fake = FakeServer::bind().await;
    let (mut server, client) = against(&fake).await;
    server.send_raw(Vec::new()).await;
    let closed = server.closed().await;
    assert_eq!(closed.code, close_code::PROTOCOL, "{closed:?}");
    assert!(closed.reason.contains("malformed frame"), "{closed:?}");
    assert_eq!(client.session().closed().await.code, close_code::PROTOCOL);
}

#[tokio::test]
async fn a_fake_server_without_the_handshake_leaves_the_hello_to_the_test() {
    let fake = FakeServer::bind().await;
    let connecting = tokio::spawn({
        let url = fake.url();
        async move { Client::connect(&url).await }
    });
    let mut server = fake.accept_upgrade().await;
    let hello = server.expect_frame().await;
    assert!(matches!(hello.frame(), Frame::Hello(_)), "{hello:?}");
    // No welcome: an answer of the wrong kind fails the handshake.
    server.reply(1, &()).await;
    let refused = connecting.await.unwrap();
    assert!(refused.is_err(), "{refused:?}");
}

// ---- RouterHarness ----

#[tokio::test]
async fn the_harness_calls_handlers_with_decoded_arguments_and_answers() {
    let harness = RouterHarness::new(Kit);
    assert_eq!(harness.call::<_, i64>("add", &(2, 3)).await, Ok(5));
    assert_eq!(harness.call::<_, u32>("halve", &(4u32,)).await, Ok(2));
    let odd = harness
        .call::<_, u32>("halve", &(3u32,))
        .await
        .expect_err("an application error");
    assert_eq!(odd.code(), ErrorCode::APPLICATION);
    assert_eq!(
        codec::decode_value::<String>(odd.data()).unwrap(),
        "3 is odd"
    );
    let bad = harness
        .call::<_, i64>("add", &("not", "numbers"))
        .await
        .expect_err("bad arguments");
    assert_eq!(bad.code(), ErrorCode::BAD_ARGUMENTS);
    let missing = harness
        .call::<_, i64>("nowhere", &())
        .await
        .expect_err("no such method");
    assert_eq!(missing.code(), ErrorCode::UNKNOWN_METHOD);
}

#[tokio::test]
async fn the_harness_fills_in_identity_headers_and_extensions() {
    let anonymous = RouterHarness::new(Kit);
    let refused = anonymous
        .call::<_, String>("whoami", &())
        .await
        .expect_err("anonymous");
    assert_eq!(refused.code(), ErrorCode::UNAUTHENTICATED);
    assert_eq!(
        anonymous.call::<_, Option<String>>("lang", &()).await,
        Ok(None)
    );

    let visits = Visits::default();
    let harness = RouterHarness::new(Kit)
        .identity(Identity::new("alice"))
        .header("lang", "fr")
        .extension(visits.clone());
    assert_eq!(
        harness.call::<_, String>("whoami", &()).await.unwrap(),
        "alice"
    );
    assert_eq!(
        harness
            .call::<_, Option<String>>("lang", &())
            .await
            .unwrap()
            .as_deref(),
        Some("fr")
    );
    assert_eq!(harness.call::<_, u64>("visit", &()).await, Ok(1));
    assert_eq!(harness.call::<_, u64>("visit", &()).await, Ok(2));
    assert_eq!(
        visits.0.load(Ordering::Relaxed),
        2,
        "the session kept the state"
    );
}

#[tokio::test]
async fn the_harness_runs_casts_on_a_session_the_test_can_inspect() {
    let harness = RouterHarness::new(Kit);
    harness.cast("join", &("lobby",)).await.unwrap();
    assert!(harness.session().has_tag("room", "lobby"));
}

#[tokio::test(start_paused = true)]
async fn the_harness_keeps_the_methods_deadline_which_a_paused_clock_passes_at_once() {
    let harness = RouterHarness::new(Kit);
    let late = harness
        .call::<_, u8>("stall", &())
        .await
        .expect_err("the deadline");
    assert_eq!(late.code(), ErrorCode::TIMEOUT);
}
