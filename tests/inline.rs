//! Inline methods ([`rpc::Router::runs_inline`]): the handler's first poll
//! runs on the reader, and a handler that then waits moves to the pool with
//! everything a pooled handler has: its deadline, cancellation, the
//! reader free for the connection's other frames.

mod common;

use std::sync::{Arc, Mutex};

use common::{CallTimer, FnRouter, server_config, session_config, within};
use rpc::ErrorCode;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Every method inline: `block` and `add` of [`common::blocking`], `panic`,
/// and the cast `note` with the call `notes`, which keep and read back
/// what was noted.
fn inline_router(
    started: mpsc::UnboundedSender<()>,
    release: Arc<Semaphore>,
    dropped: Option<oneshot::Sender<()>>,
) -> FnRouter {
    let notes = Arc::new(Mutex::new(Vec::<u32>::new()));
    let read = Arc::clone(&notes);
    common::blocking(started, release, dropped)
        .call(
            "panic",
            |_req| async move { panic!("inline handler failed") },
        )
        .cast("note", move |req| {
            let notes = Arc::clone(&notes);
            async move {
                let (n,): (u32,) = req.args()?;
                notes.lock().unwrap().push(n);
                req.reply(&())
            }
        })
        .call("notes", move |req| {
            let notes = read.lock().unwrap().clone();
            async move { req.reply(&notes) }
        })
        .all_inline()
}

#[tokio::test]
async fn an_inline_handler_that_waits_moves_to_the_pool_and_the_reader_goes_on() {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let router = inline_router(started_tx, Arc::clone(&release), None);
    let pair = common::pair(router, server_config(), session_config()).await;
    let peer = pair.client.peer().clone();
    let blocked = tokio::spawn(async move { peer.call::<_, String>("block", &()).await });
    within("the inline handler to start", started.recv())
        .await
        .unwrap();

    // The reader is not held by the waiting handler: other calls answer.
    for i in 0..10_i64 {
        let sum: i64 = within(
            "a call while one waits",
            pair.client.peer().call("add", &(i, 1)),
        )
        .await
        .unwrap();
        assert_eq!(sum, i + 1);
    }
    release.add_permits(1);
    let answer = within("the waiting handler's answer", blocked)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer, "released");
}

#[tokio::test(start_paused = true)]
async fn a_waiting_inline_handler_keeps_the_deadline_counted_from_its_admission() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let (dropped_tx, dropped) = oneshot::channel();
    let router = inline_router(started_tx, Arc::new(Semaphore::new(0)), Some(dropped_tx));
    // The timer is registered only once the handler waits, but its
    // deadline counts from the admission.
    common::assert_block_meets_its_deadline(router, dropped).await;
}

#[tokio::test(start_paused = true)]
async fn a_waiting_inline_call_is_cancelled_when_its_caller_gives_up() {
    let (started_tx, started) = mpsc::unbounded_channel();
    let (dropped_tx, dropped) = oneshot::channel();
    let router = inline_router(started_tx, Arc::new(Semaphore::new(0)), Some(dropped_tx));
    // The cancel frame finds the handler among the running calls: it was
    // entered there once its first poll, on the reader, left it waiting.
    common::assert_an_abandoned_block_is_dropped(router, started, dropped, CallTimer::Own).await;
}

#[tokio::test]
async fn an_inline_handler_that_panics_answers_internal_and_the_session_goes_on() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let router = inline_router(started_tx, Arc::new(Semaphore::new(0)), None);
    let pair = common::pair(router, server_config(), session_config()).await;
    let err = within(
        "the panicking call",
        pair.client.peer().call::<_, ()>("panic", &()),
    )
    .await
    .unwrap_err();
    assert_eq!(err.remote_code(), Some(ErrorCode::INTERNAL), "{err:?}");
    let sum: i64 = pair.client.peer().call("add", &(20, 22)).await.unwrap();
    assert_eq!(sum, 42);
}

#[tokio::test]
async fn inline_casts_take_effect_in_the_order_sent_before_the_next_request_is_read() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let router = inline_router(started_tx, Arc::new(Semaphore::new(0)), None);
    let pair = common::pair(router, server_config(), session_config()).await;
    for n in 0..200_u32 {
        pair.client.peer().cast("note", &(n,)).await.unwrap();
    }
    // `notes` reads the list when it is dispatched, not when polled: every
    // cast queued before it has run by then.
    let notes: Vec<u32> = within("the notes", pair.client.peer().call("notes", &()))
        .await
        .unwrap();
    assert_eq!(notes, (0..200).collect::<Vec<_>>());
}
