//! A flood of refused requests makes a bounded number of WARN lines: the
//! session logs a few per window and counts the rest.
//!
//! A binary of its own, since it installs a tracing subscriber for the
//! test's thread (the runtime is current-thread, so every task of the
//! server logs through it).

mod common;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use common::{FnRouter, raw, serve, within};
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use tracing::{Level, Subscriber};
use tracing_subscriber::{
    Layer,
    layer::{Context, SubscriberExt},
};

/// Counts WARN events.
struct Warnings(Arc<AtomicUsize>);

impl<S: Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() == Level::WARN {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[tokio::test]
async fn a_thousand_refused_requests_make_at_most_ten_warn_lines() {
    let warnings = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(Warnings(Arc::clone(&warnings)));
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = serve(FnRouter::new("Empty")).await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    let flood = 1000u64;
    // In batches the refusal lane holds, reading the answers between them:
    // every request is answered (unknown method) and the session lives.
    for batch in 0..flood / 50 {
        for id in 1..=50 {
            raw::send_call(&mut ws, batch * 50 + id, "missing").await;
        }
        let mut answered = 0;
        while answered < 50 {
            match within("refusals", ws.next()).await {
                Some(Ok(Message::Binary(_))) => answered += 1,
                Some(Ok(_)) => {}
                other => panic!("the session ended early: {other:?}"),
            }
        }
    }
    let logged = warnings.load(Ordering::Relaxed);
    assert!(
        (1..=10).contains(&logged),
        "{logged} WARN lines for {flood} refusals"
    );
    ws.close(None).await.unwrap();
}

/// A peer claiming, a thousand times, that it serves no method for a push's
/// topic: the server's dead-letter queue takes what fits, the rest costs one
/// bounded log, and the session goes on.
#[tokio::test]
async fn a_thousand_unknown_topic_reports_fill_the_dead_letters_once_and_log_little() {
    use futures_util::SinkExt;
    use rpc::{
        ErrorCode, Server, codec,
        protocol::{ErrorFrame, Frame},
    };

    let warnings = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(Warnings(Arc::clone(&warnings)));
    let _guard = tracing::subscriber::set_default(subscriber);

    let (letters_tx, mut letters) = tokio::sync::mpsc::channel(4);
    let server = Server::builder()
        .config(common::server_config())
        .mount(
            FnRouter::new("Ping")
                .call("ping", |req| async move { req.reply(&()) })
                .finished(),
        )
        .dead_letters(letters_tx)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    let report = Frame::Error(ErrorFrame {
        id: 0,
        code: ErrorCode::UNKNOWN_TOPIC,
        message: "no-such-topic",
    });
    let report = codec::encode_raw(&report, &[]).unwrap();
    for _ in 0..1000 {
        ws.send(Message::Binary(report.clone())).await.unwrap();
    }
    // The session read them all: it answers a call sent after them.
    raw::send_call(&mut ws, 1, "ping").await;
    loop {
        match within("the answer", ws.next()).await {
            Some(Ok(Message::Binary(_))) => break,
            Some(Ok(_)) => {}
            other => panic!("the session ended: {other:?}"),
        }
    }
    let mut queued = 0;
    while let Ok(letter) = letters.try_recv() {
        assert_eq!(letter.topic, "no-such-topic");
        queued += 1;
    }
    assert_eq!(queued, 4, "the queue's capacity");
    let logged = warnings.load(Ordering::Relaxed);
    assert!((1..=10).contains(&logged), "{logged} WARN lines");
}

/// A peer that makes a handler panic on every call, with a message made of
/// its own input: every call is answered `internal`, and the log takes a
/// few ERROR lines per window, each with the message clipped.
#[tokio::test]
async fn a_hundred_panicking_calls_make_a_few_short_error_lines() {
    let why = "x".repeat(4096);
    let logged = common::logs::logged(async {
        let router = FnRouter::new("Fuse").call("blow", |req| async move {
            let (why,): (String,) = req.args()?;
            panic!("{why}");
        });
        let server = serve(router).await;
        let client = common::connect(&server).await;
        for _ in 0..100 {
            let err = within("the call", client.peer().call::<_, ()>("blow", &(&why,)))
                .await
                .unwrap_err();
            assert_eq!(err.remote_code(), Some(rpc::ErrorCode::INTERNAL), "{err:?}");
        }
    })
    .await;
    let lines: Vec<&str> = logged
        .lines()
        .filter(|line| line.contains("ERROR") && line.contains("handler panicked"))
        .collect();
    assert!(
        (1..=10).contains(&lines.len()),
        "{} lines for 100 panics: {lines:#?}",
        lines.len()
    );
    let longest = lines.iter().map(|line| line.len()).max().unwrap_or(0);
    assert!(longest < 1024, "a line of {longest} bytes");
}
