//! Session recording and replay: a real session over 127.0.0.1 recorded on
//! the server, its file read line by line, replayed into a fresh server
//! (same answers) and into a buggy one (the call that differs is named),
//! and the recorder's bounds.

mod common;

use std::path::{Path, PathBuf};

use common::{FnRouter, server_config, session_config, url, within};
use futures_util::{SinkExt, StreamExt};
use rpc::{
    Client, ClientConfig, ErrorCode, HandlerError, Recording, Server, ServerConfig, StreamOptions,
    testing::{self, Recorded},
};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// A fresh, empty folder for one test's recordings.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rpc-recording-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `add` (as given: correct or not), `fail`, the cast `log`, the stream
/// `count`.
fn router(add: fn(i64, i64) -> i64, logged: mpsc::UnboundedSender<String>) -> FnRouter {
    FnRouter::new("Recorded")
        .call("add", move |req| async move {
            let (a, b): (i64, i64) = req.args()?;
            req.reply(&add(a, b))
        })
        .call("fail", |_req| async move {
            Err(HandlerError::application("out of paper", &7u32))
        })
        .cast("log", move |req| {
            let logged = logged.clone();
            async move {
                let (line,): (String,) = req.args()?;
                let _ = logged.send(line);
                req.reply(&())
            }
        })
        .stream("count", |req| async move {
            let (n,): (u64,) = req.args()?;
            req.send_stream(futures_util::stream::iter(0..n)).await
        })
        .finished()
}

fn recording_server(recording: Recording) -> ServerConfig {
    server_config().session(session_config().record(Some(recording)))
}

/// Runs the recorded session: two calls, a cast, an error and a stream;
/// returns the one file the server wrote, once the server has shut down
/// (which waits for the recording's last line).
async fn record_a_session(dir: &Path) -> PathBuf {
    let (logged, mut log) = mpsc::unbounded_channel();
    let server = Server::builder()
        .config(recording_server(Recording::new(dir)))
        .mount(router(|a, b| a + b, logged))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let client = common::connect(&server).await;
    let peer = client.peer();
    let sum: i64 = within("add", peer.call("add", &(40, 2))).await.unwrap();
    assert_eq!(sum, 42);
    within("cast", peer.cast("log", &("hello",))).await.unwrap();
    assert_eq!(within("the cast runs", log.recv()).await.unwrap(), "hello");
    let err = within("fail", peer.call::<_, ()>("fail", &()))
        .await
        .unwrap_err();
    assert_eq!(err.remote_code(), Some(ErrorCode::APPLICATION));
    let items: Vec<u64> = within("count", async {
        peer.open::<_, u64>("count", &(3u64,), StreamOptions::default())
            .await
            .unwrap()
            .map(Result::unwrap)
            .collect()
            .await
    })
    .await;
    assert_eq!(items, [0, 1, 2]);
    let sum: i64 = within("add", peer.call("add", &(1, 1))).await.unwrap();
    assert_eq!(sum, 2);
    within("client close", client.close()).await;
    within("shutdown", server.shutdown()).await;

    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one file per session: {files:?}");
    files.into_iter().next().unwrap()
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is one JSON object"))
        .collect()
}

/// The frame lines of `kind` in direction `dir`.
fn of<'a>(lines: &'a [Value], dir: &str, kind: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|line| line["dir"] == dir && line["kind"] == kind)
        .collect()
}

#[tokio::test]
async fn every_message_of_a_session_is_a_json_line_with_the_documented_fields() {
    let dir = folder("lines");
    let path = record_a_session(&dir).await;
    let lines = lines(&path);

    let header = &lines[0];
    assert_eq!(header["recording"], 1);
    assert_eq!(header["side"], "server");
    let session = header["session"].as_u64().unwrap();
    assert_eq!(
        path.file_name().unwrap().to_str().unwrap(),
        format!("{session}.jsonl")
    );

    for line in &lines[1..] {
        assert!(line["ts"].as_u64().is_some(), "{line}");
        if line["kind"] == "close" {
            continue;
        }
        for field in ["dir", "kind", "summary", "len", "bytes"] {
            assert!(!line[field].is_null(), "`{field}` missing in {line}");
        }
    }
    assert_eq!(lines[1]["kind"], "hello");
    assert_eq!(lines[1]["dir"], "in");
    assert_eq!(lines[2]["kind"], "welcome");
    assert_eq!(lines[2]["dir"], "out");

    let calls = of(&lines, "in", "call");
    let methods: Vec<_> = calls
        .iter()
        .map(|c| c["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["add", "fail", "add"]);
    let replies = of(&lines, "out", "reply");
    assert!(replies.iter().any(|r| r["id"] == calls[0]["id"]));
    assert!(replies.iter().any(|r| r["id"] == calls[2]["id"]));

    let errors = of(&lines, "out", "error");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["id"], calls[1]["id"]);
    let summary = errors[0]["summary"].as_str().unwrap();
    assert!(summary.contains("out of paper"), "{summary}");

    let casts = of(&lines, "in", "cast");
    assert_eq!(casts.len(), 1);
    assert_eq!(casts[0]["method"], "log");

    let opens = of(&lines, "in", "open");
    assert_eq!(opens[0]["method"], "count");
    let items = of(&lines, "out", "item");
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|item| item["id"] == opens[0]["id"]));
    assert_eq!(of(&lines, "out", "end")[0]["id"], opens[0]["id"]);

    // The client's close, as the server received it.
    assert_eq!(of(&lines, "in", "close").len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn replaying_a_recording_into_the_same_router_reproduces_every_answer() {
    let dir = folder("replay");
    let path = record_a_session(&dir).await;
    let recorded = Recorded::open(&path).unwrap();
    assert_eq!(recorded.dropped, 0);
    assert!(recorded.stopped.is_none());

    let (logged, mut log) = mpsc::unbounded_channel();
    let server = Server::builder()
        .config(server_config())
        .mount(router(|a, b| a + b, logged));
    let report = within("replay", testing::replay(&recorded, server))
        .await
        .unwrap();
    assert!(report.all_match(), "{report}");
    let methods: Vec<_> = report
        .calls
        .iter()
        .map(|call| call.method.as_deref().unwrap())
        .collect();
    assert_eq!(methods, ["add", "fail", "count", "add"]);
    assert!(report.calls.iter().all(|call| !call.replayed.is_empty()));
    assert_eq!(report.casts, 1);
    assert_eq!(log.recv().await.unwrap(), "hello", "the cast ran again");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn replaying_into_a_buggy_router_names_the_call_that_differs() {
    let dir = folder("buggy");
    let path = record_a_session(&dir).await;
    let recorded = Recorded::open(&path).unwrap();

    let (logged, _log) = mpsc::unbounded_channel();
    let buggy = Server::builder()
        .config(server_config())
        .mount(router(|a, b| a - b, logged));
    let report = within("replay", testing::replay(&recorded, buggy))
        .await
        .unwrap();
    assert!(!report.all_match());
    let differ: Vec<_> = report.mismatches().collect();
    // add(40, 2) and add(1, 1); `fail` and `count` still agree.
    assert_eq!(differ.len(), 2, "{report}");
    let first_add = recorded
        .inbound()
        .find(|frame| frame.kind == "call" && frame.method.as_deref() == Some("add"))
        .unwrap();
    assert_eq!(differ[0].id, first_add.id.unwrap());
    assert_eq!(differ[0].method.as_deref(), Some("add"));
    assert_eq!(differ[0].recorded[0].kind, "reply");
    assert_eq!(differ[0].replayed[0].kind, "reply");
    let text = report.to_string();
    assert!(text.contains("`add`"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_fake_peer_can_send_the_recorded_frames_itself() {
    let dir = folder("fake-peer");
    let path = record_a_session(&dir).await;
    let recorded = Recorded::open(&path).unwrap();
    let inbound: Vec<_> = recorded.inbound().filter(|f| f.kind != "close").collect();
    assert_eq!(inbound[0].kind, "hello");
    assert!(inbound.iter().all(|frame| frame.len == frame.bytes.len()));
    // The raw client of tests/common speaks the wire by hand: send the
    // recorded hello and the first call, and read the server's answers.
    let (logged, _log) = mpsc::unbounded_channel();
    let server = Server::builder()
        .config(server_config())
        .mount(router(|a, b| a + b, logged))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let mut ws = common::raw::upgrade(addr).await;
    ws.send(Message::Binary(inbound[0].bytes.clone()))
        .await
        .unwrap();
    let welcome = common::raw::next_binary(&mut ws).await;
    assert_eq!(welcome[0], 1, "a Welcome frame");
    let call = inbound.iter().find(|frame| frame.kind == "call").unwrap();
    ws.send(Message::Binary(call.bytes.clone())).await.unwrap();
    let answer = common::raw::next_binary(&mut ws).await;
    let recorded_answer = recorded
        .iter()
        .find(|frame| frame.kind == "reply" && frame.id == call.id)
        .unwrap();
    assert_eq!(answer, recorded_answer.bytes);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_full_file_ends_with_a_stopped_line_and_the_session_goes_on() {
    let dir = folder("cap");
    let (logged, _log) = mpsc::unbounded_channel();
    let server = Server::builder()
        .config(recording_server(Recording::new(&dir).max_file_bytes(2048)))
        .mount(router(|a, b| a + b, logged))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let client = common::connect(&server).await;
    for i in 0..100i64 {
        let sum: i64 = within("add", client.peer().call("add", &(i, 1)))
            .await
            .unwrap();
        assert_eq!(sum, i + 1, "answered after the file is full");
    }
    within("client close", client.close()).await;
    within("shutdown", server.shutdown()).await;

    let path = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(std::fs::metadata(&path).unwrap().len() <= 2048);
    let lines = lines(&path);
    let last = lines.last().unwrap();
    assert!(
        last["stopped"].as_str().unwrap().contains("max_file_bytes"),
        "{last}"
    );
    assert!(lines.len() > 3, "it recorded until full");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_queue_counts_what_it_leaves_out_and_never_holds_the_session_back() {
    let dir = folder("queue");
    let (logged, _log) = mpsc::unbounded_channel();
    let server = Server::builder()
        .config(recording_server(Recording::new(&dir).queue(1)))
        .mount(router(|a, b| a + b, logged))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let client = common::connect(&server).await;
    let calls = (0..300i64).map(|i| {
        let peer = client.peer().clone();
        async move { peer.call::<_, i64>("add", &(i, i)).await }
    });
    let sums = within("a burst of calls", futures_util::future::join_all(calls)).await;
    assert!(sums.iter().all(Result::is_ok));
    within("client close", client.close()).await;
    within("shutdown", server.shutdown()).await;

    // Every message is either a line or counted in a `dropped` line: the
    // 300 calls, their answers, hello and welcome (closes may be either).
    let path = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let lines = lines(&path);
    let messages = lines
        .iter()
        .filter(|line| !line["dir"].is_null() && line["kind"] != "close")
        .count() as u64;
    let dropped: u64 = lines
        .iter()
        .filter_map(|line| line["dropped"].as_u64())
        .sum();
    assert!(
        messages + dropped >= 602,
        "{messages} lines, {dropped} dropped"
    );
    assert!(messages <= 602);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_client_records_under_its_session_id() {
    let dir = folder("client");
    let (logged, _log) = mpsc::unbounded_channel();
    let server = Server::builder()
        .config(server_config())
        .mount(router(|a, b| a + b, logged))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::builder()
        .config(
            ClientConfig::default().session(session_config().record(Some(Recording::new(&dir)))),
        )
        .connect(&url(&server))
        .await
        .unwrap();
    let id = client.session().id();
    let _: i64 = within("add", client.peer().call("add", &(1, 2)))
        .await
        .unwrap();
    within("client close", client.close()).await;

    let path = dir.join(format!("client-{id}.jsonl"));
    let lines = lines(&path);
    assert_eq!(lines[0]["side"], "client");
    assert_eq!(lines[1]["kind"], "hello");
    assert_eq!(lines[1]["dir"], "out");
    assert_eq!(lines[2]["kind"], "welcome");
    assert_eq!(of(&lines, "out", "call")[0]["method"], "add");
    assert_eq!(of(&lines, "in", "reply").len(), 1);
    assert!(matches!(
        testing::replay(&Recorded::open(&path).unwrap(), Server::builder()).await,
        Err(testing::ReplayError::NotServerSide)
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
