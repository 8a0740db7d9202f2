//! Metrics through the `metrics` facade: calls by method and outcome,
//! handler and round-trip times, refusals, bytes, sessions, pushes,
//! reconnects, and every name docs/observability.md documents.
//!
//! One recorder serves the whole binary (the facade has one global
//! recorder, and sessions record from any thread). The tests run at once,
//! so each counts calls to methods of its own, and reads process-wide
//! counters as growth.

#![cfg(feature = "metrics")]

mod common;

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Mutex, OnceLock, PoisonError},
    time::Duration,
};

use common::{FnRouter, connect, serve, serve_with, server_config, session_config, url, within};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use rpc::{Client, ErrorCode, HandlerError, PushError, ReconnectPolicy, Server, metrics as names};
use tokio::{io::AsyncWriteExt, sync::mpsc};

/// A metric's value so far.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    Counter(u64),
    Gauge(f64),
    /// Samples recorded.
    Histogram(usize),
}

/// The recorder, and the totals read from it so far: a snapshot hands
/// over what was recorded since the last one, so every read adds it up.
struct Recorded {
    snapshotter: Snapshotter,
    totals: Mutex<HashMap<String, Value>>,
}

/// Installs the recorder, once, before any handle is made.
fn recorded() -> &'static Recorded {
    static RECORDED: OnceLock<Recorded> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("no other recorder in this binary");
        Recorded {
            snapshotter,
            totals: Mutex::default(),
        }
    })
}

/// `name{key="value",...}` with the labels sorted, as [`value`] asks.
fn series(name: &str, labels: &[(&str, &str)]) -> String {
    let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    labels.sort();
    format!("{name}{{{}}}", labels.join(","))
}

/// Every series recorded so far.
fn totals() -> HashMap<String, Value> {
    let recorded = recorded();
    let mut totals = recorded
        .totals
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    for (key, _, _, value) in recorded.snapshotter.snapshot().into_vec() {
        let key = key.key();
        let labels: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
        let entry = totals.entry(series(key.name(), &labels));
        match value {
            DebugValue::Counter(n) => {
                let total = entry.or_insert(Value::Counter(0));
                if let Value::Counter(total) = total {
                    *total += n;
                }
            }
            DebugValue::Gauge(n) => {
                let total = entry.or_insert(Value::Gauge(0.0));
                if let Value::Gauge(total) = total {
                    *total += n.into_inner();
                }
            }
            DebugValue::Histogram(samples) => {
                let total = entry.or_insert(Value::Histogram(0));
                if let Value::Histogram(total) = total {
                    *total += samples.len();
                }
            }
        }
    }
    totals.clone()
}

/// A counter's total so far (0 if never recorded).
fn counter(name: &str, labels: &[(&str, &str)]) -> u64 {
    match totals().get(&series(name, labels)) {
        Some(Value::Counter(n)) => *n,
        None => 0,
        Some(other) => panic!("{name} is not a counter: {other:?}"),
    }
}

/// Samples a histogram has taken so far.
fn samples(name: &str, labels: &[(&str, &str)]) -> usize {
    match totals().get(&series(name, labels)) {
        Some(Value::Histogram(n)) => *n,
        None => 0,
        Some(other) => panic!("{name} is not a histogram: {other:?}"),
    }
}

/// Names of every series recorded so far.
fn recorded_names() -> BTreeSet<String> {
    totals()
        .keys()
        .map(|series| series.split('{').next().unwrap_or_default().to_owned())
        .collect()
}

/// The metric names docs/observability.md lists in its tables.
fn documented_names() -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/observability.md");
    let text = std::fs::read_to_string(path).expect("docs/observability.md reads");
    text.lines()
        .filter_map(|line| line.strip_prefix("| `rpc_"))
        .map(|rest| format!("rpc_{}", rest.split('`').next().unwrap_or_default()))
        .collect()
}

/// `add(a, b)`, and `div(a, b)` that fails with an application error for
/// `b = 0`, under names of the caller's choosing.
fn arithmetic(add: &str, div: &str) -> FnRouter {
    FnRouter::new("Arithmetic")
        .call(add, |req| async move {
            let (a, b): (i64, i64) = req.args()?;
            req.reply(&(a + b))
        })
        .call(div, |req| async move {
            let (a, b): (i64, i64) = req.args()?;
            if b == 0 {
                return Err(HandlerError::new(
                    ErrorCode::APPLICATION,
                    "division by zero",
                ));
            }
            req.reply(&(a / b))
        })
}

#[tokio::test]
async fn calls_count_by_method_and_outcome_with_their_times() {
    recorded();
    let server = serve(arithmetic("add", "div")).await;
    let client = connect(&server).await;
    let peer = client.peer();
    let n = 7;
    for i in 0..7_i64 {
        let sum: i64 = within("add", peer.call("add", &(i, 1_i64))).await.unwrap();
        assert_eq!(sum, i + 1);
    }
    for _ in 0..2 {
        let err = within("div", peer.call::<_, i64>("div", &(1_i64, 0_i64)))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "application");
    }
    let err = within("nope", peer.call::<_, i64>("no such method", &()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "unknown-method");

    // The server counted each answer before sending it.
    let answered = |method, outcome| {
        counter(
            names::CALLS_SERVED,
            &[("method", method), ("outcome", outcome)],
        )
    };
    assert_eq!(answered("add", "ok"), n);
    assert_eq!(answered("div", "application"), 2);
    assert_eq!(answered("div", "ok"), 0);
    assert!(answered("unknown", "unknown-method") >= 1);
    assert_eq!(
        answered("no such method", "unknown-method"),
        0,
        "a name the peer made up labels nothing"
    );
    assert_eq!(samples(names::HANDLER_SECONDS, &[("method", "add")]), 7);
    assert_eq!(samples(names::HANDLER_SECONDS, &[("method", "div")]), 2);
    assert!(counter(names::REFUSALS, &[("reason", "unknown-method")]) >= 1);

    // The client's view: its calls by the names it called.
    let made = |method, outcome| {
        counter(
            names::CALLS_MADE,
            &[("method", method), ("outcome", outcome)],
        )
    };
    assert_eq!(made("add", "ok"), n);
    assert_eq!(made("div", "application"), 2);
    assert_eq!(made("no such method", "unknown-method"), 1);
    assert_eq!(samples(names::CALL_SECONDS, &[("method", "add")]), 7);
    client.close().await;
}

#[tokio::test]
async fn refusals_count_for_the_method_refused() {
    recorded();
    // One request in flight at most: `hold` takes it until released.
    let (release, released) = mpsc::unbounded_channel::<()>();
    let released = std::sync::Arc::new(tokio::sync::Mutex::new(released));
    let (started, mut holding) = mpsc::unbounded_channel::<()>();
    let router = FnRouter::new("Held")
        .call("hold", move |req| {
            let released = std::sync::Arc::clone(&released);
            let started = started.clone();
            async move {
                let _ = started.send(());
                released.lock().await.recv().await;
                req.reply(&())
            }
        })
        .cast("tick", |req| async move { req.reply(&()) });
    let config = server_config().session(session_config().max_in_flight(1));
    let server = serve_with(router, config).await;
    let client = connect(&server).await;
    let peer = client.peer();
    let before = counter(names::REFUSALS, &[("reason", "in-flight")]);
    let peer_errors = counter(names::PEER_EVENTS, &[("event", "peer-error")]);

    let held = tokio::spawn({
        let peer = peer.clone();
        async move { peer.call::<_, ()>("hold", &()).await }
    });
    within("hold starts", holding.recv()).await;
    // A cast takes no slot of the client's, so it reaches the full server.
    peer.cast("tick", &()).await.unwrap();
    // Discover needs no slot either, and is answered after the cast was
    // read: by then the refusal is counted.
    within("discover", peer.discover()).await.unwrap();
    assert_eq!(
        counter(
            names::CALLS_SERVED,
            &[("method", "tick"), ("outcome", "busy")]
        ),
        1
    );
    assert!(counter(names::REFUSALS, &[("reason", "in-flight")]) > before);
    // The refusal of a cast comes back with id 0, which the client counts.
    assert!(counter(names::PEER_EVENTS, &[("event", "peer-error")]) > peer_errors);

    release.send(()).unwrap();
    within("hold ends", held).await.unwrap().unwrap();
    assert_eq!(
        counter(
            names::CALLS_SERVED,
            &[("method", "hold"), ("outcome", "ok")]
        ),
        1
    );
    client.close().await;
}

#[tokio::test]
async fn bytes_and_sessions_count_on_both_sides() {
    recorded();
    let server = serve(arithmetic("plus", "over")).await;
    let side = |name, side| counter(name, &[("side", side)]);
    let before: Vec<u64> = [
        (names::BYTES_RECEIVED, "server"),
        (names::BYTES_SENT, "server"),
        (names::BYTES_RECEIVED, "client"),
        (names::BYTES_SENT, "client"),
        (names::SESSIONS_OPENED, "server"),
        (names::SESSIONS_OPENED, "client"),
    ]
    .iter()
    .map(|(name, which)| side(name, which))
    .collect();
    let client = connect(&server).await;
    let _: i64 = within("plus", client.peer().call("plus", &(1_i64, 2_i64)))
        .await
        .unwrap();
    let after: Vec<u64> = [
        (names::BYTES_RECEIVED, "server"),
        (names::BYTES_SENT, "server"),
        (names::BYTES_RECEIVED, "client"),
        (names::BYTES_SENT, "client"),
        (names::SESSIONS_OPENED, "server"),
        (names::SESSIONS_OPENED, "client"),
    ]
    .iter()
    .map(|(name, which)| side(name, which))
    .collect();
    for (i, (before, after)) in before.iter().zip(&after).enumerate() {
        assert!(
            after > before,
            "series {i} did not grow: {before} -> {after}"
        );
    }
    let closed = |side| {
        counter(
            names::SESSIONS_CLOSED,
            &[("side", side), ("close", "normal"), ("by", "local")],
        )
    };
    let closed_before = closed("client");
    client.close().await;
    assert!(closed("client") > closed_before);
}

/// Drives a server and clients through every event a metric counts, then
/// checks that each documented name was recorded and that the docs list
/// exactly the names the code has.
#[tokio::test]
async fn every_documented_metric_is_emitted() {
    recorded();
    let documented = documented_names();
    let named: BTreeSet<String> = names::NAMES.iter().map(|&n| n.to_owned()).collect();
    assert_eq!(
        documented, named,
        "docs/observability.md and rpc::metrics::NAMES differ"
    );

    // Calls, an unknown method, a cast whose handler fails.
    let (dead_letters, _unread) = mpsc::channel(1);
    let (router, mut sessions) = arithmetic("sum", "quotient")
        .cast("fails", |_req| async move {
            Err(HandlerError::new(ErrorCode::APPLICATION, "never works"))
        })
        .join_hands_out_sessions();
    let server = Server::builder()
        .config(server_config())
        .mount(router.finished())
        .dead_letters(dead_letters)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let client = connect(&server).await;
    let peer = client.peer();
    let _: i64 = within("sum", peer.call("sum", &(1_i64, 2_i64)))
        .await
        .unwrap();
    let _ = within("unknown", peer.call::<_, ()>("unknown method", &())).await;
    peer.cast("fails", &()).await.unwrap();
    within("join", peer.call::<_, ()>("join", &()))
        .await
        .unwrap();
    let session = within("session", sessions.recv()).await.unwrap();

    // Pushes to a session that has ended: undelivered, and the second one
    // finds the dead-letter queue (of one, unread) full.
    let push = session.push_handle();
    client.close().await;
    within("the session ends", session.closed()).await;
    for _ in 0..2 {
        assert!(matches!(push.try_push("note", &1), Err(PushError::Closed)));
    }

    // A connection that is no WebSocket upgrade.
    let addr = server.local_addr().unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = within(
        "the refusal",
        tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer),
    )
    .await;

    // A reconnecting client: connected, then dropped by the server, then
    // unable to connect once the server is gone.
    let reconnecting = Client::builder()
        .reconnect()
        .policy(ReconnectPolicy::fixed(Duration::from_millis(1)).max_attempts(1))
        .start(&url(&server))
        .unwrap();
    let mut events = reconnecting.events();
    within("connected", async {
        while !matches!(
            events.next().await,
            Some(rpc::ConnectionEvent::Connected { .. })
        ) {}
    })
    .await;
    server.shutdown().await;
    within("closed", async {
        while !matches!(
            events.next().await,
            Some(rpc::ConnectionEvent::Closed { .. }) | None
        ) {}
    })
    .await;

    let recorded = recorded_names();
    let missing: Vec<&String> = named
        .iter()
        .filter(|name| !recorded.contains(*name))
        .collect();
    assert!(missing.is_empty(), "never recorded: {missing:?}");
}
