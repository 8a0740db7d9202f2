//! Streams: server, client and bidirectional, with credit-based flow
//! control, cancellation both ways and idle timeouts.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::{DropSignal, FnRouter, connect, serve, within};
use futures_util::{StreamExt, stream};
use rpc::{ErrorCode, HandlerError, StreamError, StreamOptions};
use tokio::sync::oneshot;

/// Counts items a producer made, and signals when its stream is dropped.
fn counted(
    produced: Arc<AtomicUsize>,
    dropped: Option<oneshot::Sender<()>>,
) -> impl futures_util::Stream<Item = u64> + Send {
    let guard = DropSignal(dropped);
    stream::iter(0u64..).map(move |n| {
        let _keep = &guard;
        produced.fetch_add(1, Ordering::SeqCst);
        n
    })
}

fn streams_router(produced: Arc<AtomicUsize>, dropped: Option<oneshot::Sender<()>>) -> FnRouter {
    let dropped = std::sync::Mutex::new(dropped);
    FnRouter::new("Streams")
        .stream("count", |req| async move {
            let (n,): (u64,) = req.args()?;
            req.send_stream(stream::iter(0..n)).await
        })
        .stream("firehose", move |req| {
            let items = counted(Arc::clone(&produced), dropped.lock().unwrap().take());
            async move { req.send_stream(items).await }
        })
        .stream("fails_at", |req| async move {
            let (at,): (u64,) = req.args()?;
            let items = stream::iter(0..).map(move |n| {
                if n == at {
                    Err(HandlerError::application("the feed broke", &n))
                } else {
                    Ok(n)
                }
            });
            req.send_try_stream(items).await
        })
        .stream("sum", |req| async move {
            let mut uploads = req.incoming::<u64>()?;
            let mut total = 0;
            while let Some(item) = uploads.next().await {
                total += item.map_err(|e| HandlerError::new(ErrorCode::INTERNAL, e.to_string()))?;
            }
            req.reply(&total)
        })
        .stream("shout", |req| async move {
            let uploads = req.incoming::<String>()?;
            let answers =
                uploads.filter_map(|item| async move { item.ok().map(|s| s.to_uppercase()) });
            req.send_stream(answers).await
        })
        .call("add", |req| async move {
            let (a, b): (i64, i64) = req.args()?;
            req.reply(&(a + b))
        })
}

#[tokio::test]
async fn a_server_stream_delivers_every_item_then_ends() {
    let server = serve(streams_router(Arc::default(), None)).await;
    let client = connect(&server).await;
    let items: Vec<u64> = client
        .peer()
        .open::<_, u64>("count", &(100u64,), StreamOptions::default().window(8))
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(items, (0..100).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_stalled_stream_is_bounded_by_credit_and_does_not_stall_calls() {
    let produced = Arc::new(AtomicUsize::new(0));
    let server = serve(streams_router(Arc::clone(&produced), None)).await;
    let client = connect(&server).await;
    let mut stalled = client
        .peer()
        .open::<_, u64>("firehose", &(), StreamOptions::default().window(16))
        .await
        .unwrap();
    // Take one item so the stream is surely flowing, then stop reading.
    assert_eq!(
        within("first item", stalled.next()).await.unwrap().unwrap(),
        0
    );
    for i in 0..200i64 {
        let sum: i64 = within("call beside the stall", client.peer().call("add", &(i, 1)))
            .await
            .unwrap();
        assert_eq!(sum, i + 1);
    }
    // The producer waits for credit: it made at most one window (plus the
    // item it holds while waiting) however long we stall.
    let made = produced.load(Ordering::SeqCst);
    assert!(
        made <= 16 + 2,
        "the producer ran ahead of its credit: {made} items"
    );
}

#[tokio::test]
async fn dropping_the_callers_stream_stops_the_producer() {
    let (dropped_tx, dropped) = oneshot::channel();
    let server = serve(streams_router(Arc::default(), Some(dropped_tx))).await;
    let client = connect(&server).await;
    let mut feed = client
        .peer()
        .open::<_, u64>("firehose", &(), StreamOptions::default())
        .await
        .unwrap();
    assert_eq!(within("item", feed.next()).await.unwrap().unwrap(), 0);
    drop(feed);
    within("producer stopped", dropped).await.unwrap();
    // The session carries on.
    let sum: i64 = client.peer().call("add", &(2, 2)).await.unwrap();
    assert_eq!(sum, 4);
}

#[tokio::test]
async fn a_failing_producer_ends_the_stream_with_its_typed_error() {
    let server = serve(streams_router(Arc::default(), None)).await;
    let client = connect(&server).await;
    let mut feed = client
        .peer()
        .open::<_, u64>("fails_at", &(3u64,), StreamOptions::default())
        .await
        .unwrap();
    for n in 0..3 {
        assert_eq!(within("item", feed.next()).await.unwrap().unwrap(), n);
    }
    let err = within("error", feed.next()).await.unwrap().unwrap_err();
    let StreamError::Application(remote) = &err else {
        panic!("expected an application error, got {err:?}")
    };
    assert_eq!(remote.code(), ErrorCode::APPLICATION);
    assert_eq!(remote.decode_data::<u64>().unwrap(), 3);
    assert!(within("end", feed.next()).await.is_none());
}

#[tokio::test]
async fn an_unknown_stream_method_fails_the_open() {
    let server = serve(streams_router(Arc::default(), None)).await;
    let client = connect(&server).await;
    let err = within(
        "open",
        client
            .peer()
            .open::<_, u64>("nope", &(), StreamOptions::default()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, rpc::Error::Remote(r) if r.code() == ErrorCode::UNKNOWN_METHOD),
        "{err:?}"
    );
}

#[tokio::test]
async fn calling_a_stream_method_as_a_call_is_refused() {
    let server = serve(streams_router(Arc::default(), None)).await;
    let client = connect(&server).await;
    let err = within("call", client.peer().call::<_, ()>("count", &(3u64,)))
        .await
        .unwrap_err();
    assert_eq!(err.remote_code(), Some(ErrorCode::BAD_ARGUMENTS), "{err:?}");
}

#[tokio::test]
async fn an_idle_stream_times_out_and_is_cancelled() {
    let (dropped_tx, dropped) = oneshot::channel();
    let dropped_tx = std::sync::Mutex::new(Some(dropped_tx));
    let router = FnRouter::new("Slow").stream("one_then_nothing", move |req| {
        let guard = DropSignal(dropped_tx.lock().unwrap().take());
        async move {
            let _guard = guard;
            let items = stream::once(async { 1u64 }).chain(stream::pending());
            req.send_stream(items).await
        }
    });
    let server = serve(router).await;
    let client = connect(&server).await;
    let options = StreamOptions::default().idle_timeout(Duration::from_millis(200));
    let mut feed = client
        .peer()
        .open::<_, u64>("one_then_nothing", &(), options)
        .await
        .unwrap();
    assert_eq!(within("item", feed.next()).await.unwrap().unwrap(), 1);
    let err = within("timeout", feed.next()).await.unwrap().unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(feed.next().await.is_none());
    within("producer cancelled", dropped).await.unwrap();
}

#[tokio::test]
async fn a_client_stream_is_answered_with_one_value() {
    let server = serve(streams_router(Arc::default(), None)).await;
    let client = connect(&server).await;
    let uploads = stream::iter(1..=1000u64);
    let total: u64 = within(
        "upload",
        client
            .peer()
            .call_with_upload("sum", &(), uploads, StreamOptions::default()),
    )
    .await
    .unwrap();
    assert_eq!(total, 500_500);
}

#[tokio::test]
async fn a_bidirectional_stream_answers_as_uploads_arrive() {
    let server = serve(streams_router(Arc::default(), None)).await;
    let client = connect(&server).await;
    let words = stream::iter(["a", "b", "c"].map(String::from));
    let answers: Vec<String> = within(
        "bidi",
        client
            .peer()
            .open_bidi::<_, _, String, _>("shout", &(), words, StreamOptions::default())
            .await
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(answers, ["A", "B", "C"]);
}

#[tokio::test]
async fn dropping_a_bidirectional_stream_aborts_its_feeding_task() {
    let server = serve(streams_router(Arc::default(), None)).await;
    let client = connect(&server).await;
    let (dropped_tx, dropped) = oneshot::channel();
    let guard = DropSignal(Some(dropped_tx));
    // An upload that never ends: only aborting its task drops it.
    let uploads = stream::iter(["x".to_owned()])
        .chain(stream::pending())
        .map(move |s| {
            let _keep = &guard;
            s
        });
    let mut bidi = client
        .peer()
        .open_bidi::<_, _, String, _>("shout", &(), uploads, StreamOptions::default())
        .await
        .unwrap();
    assert_eq!(within("answer", bidi.next()).await.unwrap().unwrap(), "X");
    assert!(bidi.is_feeding());
    drop(bidi);
    within("feeding task aborted", dropped).await.unwrap();
}

#[tokio::test]
async fn a_stream_ends_with_a_transport_error_when_the_session_closes() {
    let server = serve(streams_router(Arc::default(), None)).await;
    let client = connect(&server).await;
    let mut feed = client
        .peer()
        .open::<_, u64>("firehose", &(), StreamOptions::default())
        .await
        .unwrap();
    assert!(within("item", feed.next()).await.unwrap().is_ok());
    client.session().close();
    let err = within("end", async {
        loop {
            match feed.next().await {
                Some(Ok(_)) => {}
                Some(Err(err)) => break err,
                None => panic!("ended without an error"),
            }
        }
    })
    .await;
    assert!(err.is_closed(), "{err:?}");
}

/// Opens stream 5 of `method` with `credit` from a raw peer.
async fn raw_open(server: &rpc::Server, method: &str, credit: u32) -> common::raw::RawWs {
    use futures_util::SinkExt;
    use rpc::{
        codec,
        protocol::{Frame, Open},
    };
    let mut ws = common::raw::handshaken(server.local_addr().unwrap()).await;
    let open = Frame::Open(Open {
        id: 5,
        method,
        headers: Vec::new(),
        credit,
    });
    let bytes = codec::encode_with(&open, &()).unwrap();
    ws.send(tokio_tungstenite::tungstenite::Message::Binary(bytes))
        .await
        .unwrap();
    ws
}

#[tokio::test]
async fn uploads_sent_before_any_credit_close_with_1002() {
    use futures_util::SinkExt;
    use rpc::{
        codec,
        protocol::{Frame, Side, StreamRef},
    };
    let (opened_tx, opened) = oneshot::channel();
    let opened_tx = std::sync::Mutex::new(Some(opened_tx));
    // The handler never asks for uploads, so it grants no credit.
    let router = FnRouter::new("Sink").stream("ignore", move |req| {
        let opened = opened_tx.lock().unwrap().take();
        async move {
            if let Some(opened) = opened {
                opened.send(()).unwrap();
            }
            std::future::pending::<()>().await;
            req.reply(&())
        }
    });
    let server = serve(router).await;
    let mut ws = raw_open(&server, "ignore", 8).await;
    within("open", opened).await.unwrap();
    let item = Frame::Item(StreamRef {
        id: 5,
        to: Side::Callee,
    });
    let bytes = codec::encode_with(&item, &1u64).unwrap();
    ws.send(tokio_tungstenite::tungstenite::Message::Binary(bytes))
        .await
        .unwrap();
    let (code, reason) = within("close", common::raw::expect_close(&mut ws)).await;
    assert_eq!(code, rpc::protocol::close_code::PROTOCOL);
    assert!(reason.contains("beyond the granted credit"), "{reason}");
}

#[tokio::test]
async fn an_open_granting_more_than_the_credit_cap_closes_with_1002() {
    let router = FnRouter::new("Feed").stream("feed", |req| async move {
        req.send_stream(stream::iter([1u64])).await
    });
    let server = serve(router).await;
    let mut ws = raw_open(&server, "feed", u32::MAX).await;
    let (code, reason) = within("close", common::raw::expect_close(&mut ws)).await;
    assert_eq!(code, rpc::protocol::close_code::PROTOCOL);
    assert!(reason.contains("items of credit"), "{reason}");
}

#[tokio::test]
async fn a_credit_over_the_cap_closes_with_1002() {
    use futures_util::SinkExt;
    use rpc::{
        codec,
        protocol::{Credit, Frame, Side},
    };
    let router = FnRouter::new("Feed").stream("feed", |req| async move {
        // One item, then silence: the stream stays open.
        req.send_stream(stream::iter([1u64]).chain(stream::pending()))
            .await
    });
    let server = serve(router).await;
    let mut ws = raw_open(&server, "feed", 1).await;
    let credit = Frame::Credit(Credit {
        id: 5,
        to: Side::Callee,
        items: u32::MAX,
    });
    ws.send(tokio_tungstenite::tungstenite::Message::Binary(
        codec::encode(&credit).unwrap(),
    ))
    .await
    .unwrap();
    let (code, reason) = within("close", common::raw::expect_close(&mut ws)).await;
    assert_eq!(code, rpc::protocol::close_code::PROTOCOL);
    assert!(reason.contains("items of credit"), "{reason}");
}
