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
