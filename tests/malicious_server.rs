//! Our client against a malicious server: a fake driven by hand
//! (`rpc::testing::FakeServer`) that answers the handshake, then sends what a
//! hostile server would (oversized answers, garbage, answers to ids never
//! asked, no answer at all, floods of pushes, fragments beyond the limits).
//! The session code is the same on both sides, so the client keeps the
//! limits the server keeps: each test asserts the close code and reason
//! the client sends, what its pending call returns, and that the client
//! process is fine afterwards (a new session to another fake works).

mod common;

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use common::{FnRouter, raw, within};
use rpc::{
    CallOptions, Client, ClientBuilder, ClientConfig, Error, ErrorCode, SessionConfig, codec,
    protocol::{
        Call, Discover, ErrorFrame, Fragment, Frame, Hello, Limits, Notify, PROTOCOL_VERSION,
        Reply, Welcome, close_code,
    },
    testing::{FakePeer, FakeServer},
};
use tokio::{
    sync::{Semaphore, mpsc},
    task::JoinHandle,
};

/// Limits a fake server announces: the kit's defaults.
const FAKE_LIMITS: Limits = FakeServer::LIMITS;

/// A client session config with a short close timeout, so that closes
/// finish fast.
fn session() -> SessionConfig {
    common::session_config()
}

fn builder(session: SessionConfig) -> ClientBuilder {
    Client::builder().config(ClientConfig::default().session(session))
}

/// `builder` connected to a fake server announcing `limits`: the fake's
/// socket and the client.
async fn against_fake_announcing(builder: ClientBuilder, limits: Limits) -> (FakePeer, Client) {
    let server = FakeServer::bind().await.limits(limits);
    let url = server.url();
    let (fake, client) = tokio::join!(server.accept(), builder.connect(&url));
    (fake, client.expect("the client connects to the fake"))
}

async fn against_fake(builder: ClientBuilder) -> (FakePeer, Client) {
    against_fake_announcing(builder, FAKE_LIMITS).await
}

/// Calls `method` on the fake from a task of its own; the answer is a
/// `u64`.
fn spawn_call(
    client: &Client,
    method: &str,
    options: CallOptions,
) -> JoinHandle<Result<u64, Error>> {
    let peer = client.peer().clone();
    let method = method.to_owned();
    tokio::spawn(async move { peer.call_with(&method, &(), options).await })
}

/// What the fake read from the client, owned.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Call {
        id: u64,
        method: String,
    },
    Cancel(u64),
    Error {
        id: u64,
        code: ErrorCode,
        message: String,
    },
    Described(u64),
    Other(String),
}

/// The next frame the client sends, past pings and pongs.
async fn next_frame(fake: &mut FakePeer) -> Seen {
    let received = fake.expect_frame().await;
    match received.frame() {
        Frame::Call(call) => Seen::Call {
            id: call.id,
            method: call.method.to_owned(),
        },
        Frame::Cancel(cancel) => Seen::Cancel(cancel.id),
        Frame::Error(error) => Seen::Error {
            id: error.id,
            code: error.code,
            message: error.message.to_owned(),
        },
        Frame::Described(described) => Seen::Described(described.id),
        other => Seen::Other(format!("{other:?}")),
    }
}

/// Reads the client's next frame, a call of `method`; returns its id.
async fn next_call(fake: &mut FakePeer, method: &str) -> u64 {
    fake.expect_call(method).await.0
}

async fn reply(fake: &mut FakePeer, id: u64, value: u64) {
    fake.reply(id, &value).await;
}

/// Reads the client's close frame on the fake side and the client's own
/// view of the close; asserts that both give `code` and a reason that
/// contains `reason`. Returns the reason.
async fn assert_client_closes(
    fake: &mut FakePeer,
    client: &Client,
    code: u16,
    reason: &str,
) -> String {
    let sent = fake.closed().await;
    let (sent_code, sent_reason) = (sent.code, sent.reason);
    assert_eq!(sent_code, code, "{sent_reason}");
    assert!(
        sent_reason.contains(reason),
        "`{sent_reason}` does not contain `{reason}`"
    );
    let closed = within("the client's session ends", client.session().closed()).await;
    assert_eq!(closed.code, code, "{closed:?}");
    assert!(
        !closed.by_peer,
        "the client closed, not the fake: {closed:?}"
    );
    sent_reason
}

/// Asserts that a pending call ended with `Error::Indeterminate` (it was
/// sent, and the session ended before its answer) carrying `code`.
async fn assert_call_closed(call: JoinHandle<Result<u64, Error>>, code: u16) {
    let result = within("the pending call ends", call).await.unwrap();
    match result {
        Err(Error::Indeterminate(reason)) => assert_eq!(reason.code, code, "{reason:?}"),
        other => panic!("expected Error::Indeterminate({code}), got {other:?}"),
    }
}

/// The client process is fine: a new client, against another fake, gets
/// its call answered.
async fn assert_a_new_session_works() {
    let (mut fake, client) = against_fake(builder(session())).await;
    let call = spawn_call(&client, "ping", CallOptions::default());
    let id = next_call(&mut fake, "ping").await;
    reply(&mut fake, id, 42).await;
    assert_eq!(within("the answer", call).await.unwrap().unwrap(), 42);
}

// ---- Sizes ----

#[tokio::test]
async fn an_answer_over_the_clients_max_message_size_closes_with_1009_and_fails_the_call() {
    let (mut fake, client) = against_fake(builder(session().max_message_size(1024))).await;
    let call = spawn_call(&client, "big", CallOptions::default());
    let id = next_call(&mut fake, "big").await;
    fake.send(&Frame::Reply(Reply { id }), &vec![7u8; 4096])
        .await;
    let reason = assert_client_closes(
        &mut fake,
        &client,
        close_code::TOO_BIG,
        "exceeds the limit of 1024 bytes",
    )
    .await;
    assert!(reason.starts_with("message of "), "{reason}");
    assert_call_closed(call, close_code::TOO_BIG).await;
    assert_a_new_session_works().await;
}

#[tokio::test]
async fn a_frame_header_announcing_a_gib_closes_with_1009_before_its_payload() {
    let (mut fake, client) = against_fake(builder(session().max_message_size(1024))).await;
    let call = spawn_call(&client, "big", CallOptions::default());
    next_call(&mut fake, "big").await;
    // A binary frame announcing 1 GiB, and none of its payload: the client
    // must judge it from the header alone.
    fake.write_header(0x82, 1 << 30).await;
    let closed = fake.closed().await;
    let (code, reason) = (closed.code, closed.reason);
    assert_eq!(code, close_code::TOO_BIG, "{reason}");
    assert!(
        reason.contains("exceeds the limit of 1024 bytes"),
        "{reason}"
    );
    assert_call_closed(call, close_code::TOO_BIG).await;
    assert_a_new_session_works().await;
}

// ---- Garbage ----

/// A message a fake sends that no server should.
enum Garbage {
    Binary(Bytes),
    Text(&'static str),
}

#[tokio::test]
async fn garbage_from_the_server_closes_with_the_documented_codes() {
    let welcome = codec::encode(&Frame::Welcome(Welcome {
        version: PROTOCOL_VERSION,
        session_id: 2,
        features: Vec::new(),
        limits: FAKE_LIMITS,
    }))
    .unwrap();
    let hello = codec::encode(&Frame::Hello(Hello {
        min_version: PROTOCOL_VERSION,
        max_version: PROTOCOL_VERSION,
        features: Vec::new(),
        limits: FAKE_LIMITS,
    }))
    .unwrap();
    let call_id_0 = codec::encode_with(
        &Frame::Call(Call {
            id: 0,
            method: "anything",
            headers: Vec::new(),
        }),
        &(),
    )
    .unwrap();
    let cases: [(&str, Garbage, u16, &str); 6] = [
        (
            "binary that is not a frame",
            Garbage::Binary(Bytes::from_static(&[0xff, 0xff, 0xff, 0xff])),
            close_code::PROTOCOL,
            "malformed frame",
        ),
        (
            "an empty binary message",
            Garbage::Binary(Bytes::new()),
            close_code::PROTOCOL,
            "malformed frame",
        ),
        (
            "text",
            Garbage::Text("{\"jsonrpc\": \"2.0\"}"),
            close_code::UNSUPPORTED_DATA,
            "text messages are not accepted",
        ),
        (
            "a second welcome",
            Garbage::Binary(welcome),
            close_code::PROTOCOL,
            "unexpected welcome frame after the handshake",
        ),
        (
            "a hello",
            Garbage::Binary(hello),
            close_code::PROTOCOL,
            "unexpected hello frame after the handshake",
        ),
        (
            "a call with id 0",
            Garbage::Binary(call_id_0),
            close_code::PROTOCOL,
            "id 0 is reserved",
        ),
    ];
    for (what, message, code, reason) in cases {
        let (mut fake, client) = against_fake(builder(session())).await;
        let call = spawn_call(&client, "pending", CallOptions::default());
        next_call(&mut fake, "pending").await;
        match message {
            Garbage::Binary(bytes) => fake.send_raw(bytes).await,
            Garbage::Text(text) => fake.send_text(text).await,
        }
        let closed = fake.closed().await;
        let (sent_code, sent_reason) = (closed.code, closed.reason);
        assert_eq!(sent_code, code, "{what}: {sent_reason}");
        assert!(sent_reason.contains(reason), "{what}: {sent_reason}");
        assert_call_closed(call, code).await;
    }
    assert_a_new_session_works().await;
}

// ---- Answers nobody asked for, and no answer at all ----

#[tokio::test]
async fn answers_to_ids_never_asked_are_ignored_and_the_session_goes_on() {
    let (mut fake, client) = against_fake(builder(session())).await;
    fake.send(&Frame::Reply(Reply { id: 999 }), &5u64).await;
    fake.send(
        &Frame::Error(ErrorFrame {
            id: 998,
            code: ErrorCode::APPLICATION,
            message: "for nobody",
        }),
        &(),
    )
    .await;
    fake.send(&Frame::Reply(Reply { id: 0 }), &5u64).await;
    let call = spawn_call(&client, "real", CallOptions::default());
    let id = next_call(&mut fake, "real").await;
    assert!(![0, 998, 999].contains(&id), "{id}");
    reply(&mut fake, id, 7).await;
    assert_eq!(within("the real answer", call).await.unwrap().unwrap(), 7);
    assert!(!client.session().is_closed());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_the_call_which_is_cancelled() {
    let limit = Duration::from_millis(200);
    let (mut fake, client) = against_fake(builder(session())).await;
    let call = spawn_call(&client, "silent", CallOptions::default().timeout(limit));
    let id = next_call(&mut fake, "silent").await;
    let result = within("the call times out", call).await.unwrap();
    assert!(
        matches!(result, Err(Error::Timeout(d)) if d == limit),
        "{result:?}"
    );
    assert_eq!(next_frame(&mut fake).await, Seen::Cancel(id));
    // The answer that crosses the cancel is ignored; the session goes on.
    reply(&mut fake, id, 1).await;
    let next = spawn_call(&client, "after", CallOptions::default());
    let next_id = next_call(&mut fake, "after").await;
    assert_ne!(next_id, id, "ids are not reused");
    reply(&mut fake, next_id, 2).await;
    assert_eq!(within("the next answer", next).await.unwrap().unwrap(), 2);
    assert!(!client.session().is_closed());
}

// ---- Pushes ----

/// A client router whose cast `tick` reports that it started, then waits
/// for a permit of `gate`.
fn blocking_feed(started: mpsc::UnboundedSender<()>, gate: Arc<Semaphore>) -> FnRouter {
    FnRouter::new("Feed").cast("tick", move |req| {
        let started = started.clone();
        let gate = Arc::clone(&gate);
        async move {
            let _ = started.send(());
            gate.acquire().await.unwrap().forget();
            req.reply(&())
        }
    })
}

#[tokio::test]
async fn a_flood_of_pushes_is_refused_busy_past_the_clients_max_in_flight() {
    const LIMIT: usize = 2;
    const FLOOD: u64 = 50;
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(0));
    let (mut fake, client) = against_fake(
        builder(session().max_in_flight(LIMIT))
            .mount(blocking_feed(started_tx, Arc::clone(&gate)).finished()),
    )
    .await;
    let tick = Frame::Notify(Notify { topic: "tick" });
    for i in 0..FLOOD {
        fake.send(&tick, &(i,)).await;
    }
    // Every push past the limit is refused with an error of id 0, code 5.
    let refused = FLOOD - LIMIT as u64;
    for _ in 0..refused {
        match next_frame(&mut fake).await {
            Seen::Error { id, code, message } => {
                assert_eq!((id, code), (0, ErrorCode::BUSY), "{message}");
                assert!(
                    message.contains(&format!("{LIMIT} requests already in flight")),
                    "{message}"
                );
            }
            other => panic!("expected a busy refusal, got {other:?}"),
        }
    }
    for _ in 0..LIMIT {
        within("a handler starts", started.recv()).await.unwrap();
    }
    assert!(started.try_recv().is_err(), "only {LIMIT} handlers ran");
    assert!(
        !client.session().is_closed(),
        "a flood is not a reason to close"
    );
    // Once the handlers finish, pushes are served again, and nothing more
    // was sent back for the flood.
    gate.add_permits(LIMIT);
    // A discover round trip: the client has read everything before it.
    fake.send(&Frame::Discover(Discover { id: 1 }), &()).await;
    assert_eq!(next_frame(&mut fake).await, Seen::Described(1));
    fake.send(&tick, &(FLOOD,)).await;
    within("a push after the flood runs", started.recv())
        .await
        .unwrap();
    gate.add_permits(1);
    assert!(!client.session().is_closed());
}

#[tokio::test]
async fn a_push_to_a_topic_the_client_does_not_serve_is_answered_code_10_with_the_topic() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(0));
    let (mut fake, client) =
        against_fake(builder(session()).mount(blocking_feed(started_tx, gate).finished())).await;
    let topic = "nowhere.to-be/found";
    fake.send(&Frame::Notify(Notify { topic }), &(1u64,)).await;
    assert_eq!(
        next_frame(&mut fake).await,
        Seen::Error {
            id: 0,
            code: ErrorCode::UNKNOWN_TOPIC,
            message: topic.to_owned(),
        }
    );
    // A client with no router at all answers the same.
    let (mut bare, bare_client) = against_fake(builder(session())).await;
    bare.send(&Frame::Notify(Notify { topic }), &(1u64,)).await;
    assert_eq!(
        next_frame(&mut bare).await,
        Seen::Error {
            id: 0,
            code: ErrorCode::UNKNOWN_TOPIC,
            message: topic.to_owned(),
        }
    );
    assert!(!client.session().is_closed());
    assert!(!bare_client.session().is_closed());
}

// ---- The server's announced limits ----

#[tokio::test]
async fn the_client_keeps_within_a_max_in_flight_of_1_announced_by_the_server() {
    let limits = Limits {
        max_in_flight: 1,
        ..FAKE_LIMITS
    };
    let (mut fake, client) = against_fake_announcing(builder(session()), limits).await;
    assert_eq!(client.server_limits().max_in_flight, 1);
    let first = spawn_call(&client, "one", CallOptions::default());
    let second = spawn_call(&client, "two", CallOptions::default());
    let (first_id, first_method) = match next_frame(&mut fake).await {
        Seen::Call { id, method } => (id, method),
        other => panic!("expected a call, got {other:?}"),
    };
    // Both calls were made before the fake read the first one; a discover
    // round trip shows that nothing else was written before its answer.
    fake.send(&Frame::Discover(Discover { id: 1 }), &()).await;
    assert_eq!(
        next_frame(&mut fake).await,
        Seen::Described(1),
        "only one call before the first is answered"
    );
    reply(&mut fake, first_id, 1).await;
    let (second_id, second_method) = match next_frame(&mut fake).await {
        Seen::Call { id, method } => (id, method),
        other => panic!("expected the second call, got {other:?}"),
    };
    assert_ne!(first_method, second_method);
    reply(&mut fake, second_id, 2).await;
    let (one, two) = (
        within("first", first).await.unwrap().unwrap(),
        within("second", second).await.unwrap().unwrap(),
    );
    let expected = if first_method == "one" {
        (1, 2)
    } else {
        (2, 1)
    };
    assert_eq!((one, two), expected);
}

#[tokio::test]
async fn a_request_over_the_servers_announced_max_message_size_fails_locally() {
    let limits = Limits {
        max_message_size: 256,
        ..FAKE_LIMITS
    };
    let (mut fake, client) = against_fake_announcing(builder(session()), limits).await;
    let result: Result<u64, Error> = within(
        "the call fails",
        client.peer().call("big", &vec![1u8; 1024]),
    )
    .await;
    assert!(
        matches!(result, Err(Error::TooLarge { max: 256, .. })),
        "{result:?}"
    );
    // Nothing was sent: the next frame the fake reads is the next call.
    let call = spawn_call(&client, "small", CallOptions::default());
    let id = next_call(&mut fake, "small").await;
    reply(&mut fake, id, 3).await;
    assert_eq!(within("the answer", call).await.unwrap().unwrap(), 3);
}

// ---- Fragments ----

/// A fragment of message `message` carrying `piece`.
fn fragment(message: u64, last: bool, piece: &[u8]) -> Bytes {
    codec::encode_raw(&Frame::Fragment(Fragment { message, last }), piece).unwrap()
}

#[tokio::test]
async fn fragmented_answers_beyond_the_clients_reassembly_limits_close_with_1009() {
    // (what, client config, fragments, reason)
    let cases: [(&str, SessionConfig, Vec<Bytes>, &str); 3] = [
        (
            "more partial messages than max_partials",
            session().max_partials(2),
            (0..3)
                .map(|message| fragment(message, false, b"x"))
                .collect(),
            "more than 2 fragmented messages in transit",
        ),
        (
            "more bytes in transit than max_reassembly",
            session().max_message_size(1024).max_reassembly(2048),
            (0..4)
                .map(|message| fragment(message, false, &[0; 1000]))
                .collect(),
            "more than 2048 bytes of fragmented messages in transit",
        ),
        (
            "a reassembled message over max_message_size",
            session().max_message_size(1024),
            (0..3).map(|_| fragment(7, false, &[0; 600])).collect(),
            "exceeds the limit of 1024 bytes",
        ),
    ];
    for (what, config, fragments, reason) in cases {
        let (mut fake, client) = against_fake(builder(config)).await;
        let call = spawn_call(&client, "pending", CallOptions::default());
        next_call(&mut fake, "pending").await;
        for piece in fragments {
            // The client may close before the last piece; it reads on
            // until the fake hangs up, so the piece is still written.
            fake.send_raw(piece).await;
        }
        let closed = fake.closed().await;
        let (code, sent_reason) = (closed.code, closed.reason);
        assert_eq!(code, close_code::TOO_BIG, "{what}: {sent_reason}");
        assert!(sent_reason.contains(reason), "{what}: {sent_reason}");
        assert_call_closed(call, close_code::TOO_BIG).await;
        assert!(client.session().is_closed());
    }
    assert_a_new_session_works().await;
}

#[tokio::test]
async fn a_fragment_inside_a_fragmented_answer_closes_with_1002() {
    let (mut fake, client) = against_fake(builder(session())).await;
    let call = spawn_call(&client, "pending", CallOptions::default());
    next_call(&mut fake, "pending").await;
    let inner = fragment(9, true, b"x");
    fake.send_raw(fragment(1, true, &inner)).await;
    assert_client_closes(
        &mut fake,
        &client,
        close_code::PROTOCOL,
        "a fragmented message holds a fragment",
    )
    .await;
    assert_call_closed(call, close_code::PROTOCOL).await;
}

#[tokio::test]
async fn a_fragmented_answer_never_finished_closes_with_1008_at_the_reassembly_timeout() {
    let (mut fake, client) = against_fake(builder(
        session().reassembly_timeout(Duration::from_millis(200)),
    ))
    .await;
    let call = spawn_call(&client, "pending", CallOptions::default());
    let id = next_call(&mut fake, "pending").await;
    let answer = codec::encode_with(&Frame::Reply(Reply { id }), &1u64).unwrap();
    fake.send_raw(fragment(1, false, &answer[..1])).await;
    assert_client_closes(
        &mut fake,
        &client,
        close_code::POLICY,
        "fragmented message incomplete after",
    )
    .await;
    assert_call_closed(call, close_code::POLICY).await;
}

#[tokio::test]
async fn a_fragmented_answer_within_the_limits_is_reassembled() {
    // The control for the fragment tests: the same client takes a
    // fragmented answer that keeps within its limits.
    let (mut fake, client) = against_fake(builder(session().max_message_size(1024))).await;
    let call = spawn_call(&client, "pieces", CallOptions::default());
    let id = next_call(&mut fake, "pieces").await;
    let answer = codec::encode_with(&Frame::Reply(Reply { id }), &77u64).unwrap();
    let (head, tail) = answer.split_at(1);
    fake.send_raw(fragment(3, false, head)).await;
    fake.send_raw(fragment(3, true, tail)).await;
    assert_eq!(within("the answer", call).await.unwrap().unwrap(), 77);
    assert!(!client.session().is_closed());
}

// ---- A server that stops reading or answering altogether ----

#[tokio::test]
async fn a_server_silent_even_to_pings_is_closed_with_1001_and_the_call_fails_at_once() {
    let (mut fake, client) = against_fake(builder(
        session()
            .ping_interval(Some(Duration::from_millis(100)))
            .pong_timeout(Duration::from_millis(200)),
    ))
    .await;
    let call = spawn_call(&client, "pending", CallOptions::default());
    next_call(&mut fake, "pending").await;
    // The fake no longer reads, so it answers no ping. The client's own
    // liveness ends the session long before the call's 30 s timeout.
    let closed = within("the client gives up", client.session().closed()).await;
    assert_eq!(closed.code, close_code::GOING_AWAY, "{closed:?}");
    assert!(closed.reason.starts_with("no pong within"), "{closed:?}");
    assert_call_closed(call, close_code::GOING_AWAY).await;
    let closed = fake.closed().await;
    let (code, reason) = (closed.code, closed.reason);
    assert_eq!(code, close_code::GOING_AWAY, "{reason}");
    assert_a_new_session_works().await;
}

/// A binary server WebSocket frame (FIN, unmasked) carrying `payload`.
fn server_frame(payload: &[u8]) -> Vec<u8> {
    let len = u64::try_from(payload.len()).unwrap();
    [raw::server_header(0x82, len), payload.to_vec()].concat()
}

#[tokio::test]
async fn a_server_that_floods_pushes_without_reading_the_refusals_is_closed_with_1008() {
    const LANE: usize = 4;
    let (mut fake, client) = against_fake(builder(session().refusal_lane(LANE))).await;
    // Each push names a topic the client does not serve, so that each
    // refusal (the topic, verbatim) is about 270 bytes: the socket's
    // buffers fill after some thousands, and refusals pile up.
    let topic = "t".repeat(rpc::protocol::bounds::MAX_NAME);
    let push = server_frame(
        &codec::encode_with(&Frame::Notify(Notify { topic: &topic }), &(0u64,)).unwrap(),
    );
    let batch: Vec<u8> = push.repeat(100);
    let flood = async {
        for _ in 0..2000 {
            fake.write_socket(&batch).await;
        }
    };
    within("the client gives up", async {
        tokio::select! {
            () = flood => {}
            _ = client.session().closed() => {}
        }
    })
    .await;
    let closed = within("the client's session ends", client.session().closed()).await;
    assert_eq!(closed.code, close_code::POLICY, "{closed:?}");
    assert!(
        closed
            .reason
            .starts_with(&format!("more than {LANE} refusals unread")),
        "{closed:?}"
    );
    assert!(!closed.by_peer);
    // The fake, reading at last, gets the refusals then the close frame.
    let closed = fake.closed().await;
    let (code, reason) = (closed.code, closed.reason);
    assert_eq!(code, close_code::POLICY, "{reason}");
    assert_a_new_session_works().await;
}
