//! Large messages travel in fragments interleaved with other frames, and
//! reassembly is bounded in size and time.

mod common;

use std::time::Duration;

use common::{FnRouter, connect, raw, serve, serve_with, server_config, session_config, within};
use futures_util::{SinkExt, StreamExt, stream};
use rpc::{
    Priority, StreamOptions, codec,
    protocol::{Call, Fragment, Frame, close_code},
};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const BIG: usize = 50 << 20;

fn big_router(started: mpsc::UnboundedSender<()>) -> FnRouter {
    FnRouter::new("Big")
        .call("big", move |req| {
            let started = started.clone();
            async move {
                let reply = req.reply(&"x".repeat(BIG));
                started.send(()).unwrap();
                reply
            }
        })
        .call("add", |req| async move {
            let (a, b): (i64, i64) = req.args()?;
            req.reply(&(a + b))
        })
        .call("join", |req| async move { req.reply(&req.session().id()) })
        .stream("mixed", |req| async move {
            // Large and small items alternate; order must hold.
            let items = stream::iter(0..20usize).map(|n| {
                if n % 2 == 0 {
                    "y".repeat(200 << 10)
                } else {
                    n.to_string()
                }
            });
            req.send_stream(items).await
        })
}

fn big_session() -> rpc::SessionConfig {
    session_config()
        .max_message_size(64 << 20)
        .max_reassembly(64 << 20)
}

fn big_config() -> rpc::ServerConfig {
    server_config().session(big_session())
}

#[tokio::test]
async fn a_small_call_overtakes_a_50_mib_reply_in_transit() {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let server = serve_with(big_router(started_tx), big_config()).await;
    let client = rpc::Client::builder()
        .config(rpc::ClientConfig::default().session(big_session()))
        .connect(&common::url(&server))
        .await
        .unwrap();

    let big = tokio::spawn({
        let peer = client.peer().clone();
        async move { peer.call::<_, String>("big", &()).await }
    });
    started.recv().await.unwrap();
    let sum: i64 = within("small call", client.peer().call("add", &(1, 2)))
        .await
        .unwrap();
    assert_eq!(sum, 3);
    assert!(
        !big.is_finished(),
        "the small call waited for the whole 50 MiB reply"
    );
    let text = within("big reply", big).await.unwrap().unwrap();
    assert_eq!(text.len(), BIG);
    assert!(text.bytes().all(|b| b == b'x'));
}

#[tokio::test]
async fn a_high_priority_push_overtakes_a_large_transfer_within_a_few_fragments() {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let server = serve_with(big_router(started_tx), big_config()).await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    raw::send_call(&mut ws, 1, "join").await;
    let Some(Ok(Message::Binary(reply))) = ws.next().await else {
        panic!("no reply")
    };
    let session_id: u64 =
        codec::decode_value(&codec::decode(&reply, usize::MAX).unwrap().payload).unwrap();

    let big = Frame::Call(Call {
        id: 2,
        method: "big",
        headers: Vec::new(),
    });
    ws.send(Message::Binary(codec::encode_with(&big, &()).unwrap()))
        .await
        .unwrap();
    started.recv().await.unwrap();
    // Wait for the first fragment, so the transfer is surely under way.
    let first = within("first fragment", ws.next()).await.unwrap().unwrap();
    let Message::Binary(first) = first else {
        panic!()
    };
    assert!(matches!(
        codec::decode(&first, usize::MAX).unwrap().frame,
        Frame::Fragment(_)
    ));

    let handle = server
        .registry()
        .get(session_id)
        .unwrap()
        .into_push_handle()
        .with_priority(Priority::High);
    handle.try_push("alert", &1u64).unwrap();
    let mut fragments_before = 0;
    loop {
        let Message::Binary(bytes) = within("frames", ws.next()).await.unwrap().unwrap() else {
            continue;
        };
        match codec::decode(&bytes, usize::MAX).unwrap().frame {
            Frame::Fragment(Fragment { last, .. }) => {
                assert!(!last, "the push waited for the whole transfer");
                fragments_before += 1;
            }
            Frame::Notify(notify) => {
                assert_eq!(notify.topic, "alert");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // What was already in the socket buffers (a few MiB on loopback, more
    // when the kernel grows them) can arrive first; the writer itself lets
    // at most one round pass. A quarter of the 800 fragments is a bound no
    // push that waited for the transfer could meet.
    assert!(
        fragments_before <= 200,
        "{fragments_before} fragments came before the push"
    );
}

#[tokio::test]
async fn stream_items_keep_their_order_when_some_are_fragmented() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let server = serve(big_router(started_tx)).await;
    let client = connect(&server).await;
    let items: Vec<String> = client
        .peer()
        .open::<_, String>("mixed", &(), StreamOptions::default().window(4))
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(items.len(), 20);
    for (n, item) in items.iter().enumerate() {
        if n % 2 == 0 {
            assert_eq!(item.len(), 200 << 10, "item {n}");
        } else {
            assert_eq!(item, &n.to_string());
        }
    }
}

fn fragment(message: u64, last: bool, piece: &[u8]) -> Message {
    Message::Binary(codec::encode_raw(&Frame::Fragment(Fragment { message, last }), piece).unwrap())
}

#[tokio::test]
async fn a_fragmented_message_over_the_limit_closes_with_1009() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let config = server_config().session(
        session_config()
            .max_message_size(1 << 20)
            .fragment_size(64 << 10),
    );
    let server = serve_with(big_router(started_tx), config).await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    let piece = vec![0u8; 60 << 10];
    for _ in 0..20 {
        if ws.send(fragment(7, false, &piece)).await.is_err() {
            break;
        }
    }
    let (code, reason) = within("close", raw::expect_close(&mut ws)).await;
    assert_eq!(code, close_code::TOO_BIG, "{reason}");
}

#[tokio::test]
async fn an_unfinished_fragmented_message_closes_with_1008_at_its_deadline() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let config =
        server_config().session(session_config().reassembly_timeout(Duration::from_millis(300)));
    let server = serve_with(big_router(started_tx), config).await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    ws.send(fragment(1, false, b"the start of something"))
        .await
        .unwrap();
    let (code, reason) = within("close", raw::expect_close(&mut ws)).await;
    assert_eq!(code, close_code::POLICY);
    assert!(reason.contains("incomplete"), "{reason}");
}

#[tokio::test]
async fn fragments_of_a_call_from_a_raw_peer_are_reassembled() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let server = serve(big_router(started_tx)).await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    let call = codec::encode_with(
        &Frame::Call(Call {
            id: 5,
            method: "add",
            headers: Vec::new(),
        }),
        &(20i64, 22i64),
    )
    .unwrap();
    let (head, tail) = call.split_at(3);
    ws.send(fragment(0, false, head)).await.unwrap();
    ws.send(fragment(0, true, tail)).await.unwrap();
    let Some(Ok(Message::Binary(reply))) = within("reply", ws.next()).await else {
        panic!("no reply")
    };
    let decoded = codec::decode(&reply, usize::MAX).unwrap();
    assert!(matches!(decoded.frame, Frame::Reply(r) if r.id == 5));
    assert_eq!(codec::decode_value::<i64>(&decoded.payload).unwrap(), 42);
}

#[tokio::test]
async fn a_call_dropped_half_way_through_its_fragments_is_finished_and_the_session_lives() {
    let (received_tx, mut received) = mpsc::unbounded_channel();
    let router = FnRouter::new("Sink")
        .call("swallow", move |req| {
            let received = received_tx.clone();
            async move {
                let (text,): (String,) = req.args()?;
                received.send(text.len()).unwrap();
                req.reply(&())
            }
        })
        .call("add", |req| async move {
            let (a, b): (i64, i64) = req.args()?;
            req.reply(&(a + b))
        });
    // A short reassembly deadline: a partial left behind would close the
    // session with 1008 long before the test ends.
    let session = big_session().reassembly_timeout(Duration::from_millis(500));
    let server = serve_with(router, server_config().session(session.clone())).await;
    let client = rpc::Client::builder()
        .config(rpc::ClientConfig::default().session(session))
        .connect(&common::url(&server))
        .await
        .unwrap();

    // 32 MiB go out as 512 pieces over as many writer rounds; the call
    // gives up after a millisecond, with most of them still to go.
    let text = "z".repeat(32 << 20);
    let options = rpc::CallOptions::default().timeout(Duration::from_millis(1));
    let err = client
        .peer()
        .call_with::<_, ()>("swallow", &(text,), options)
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // The writer finishes what it started: the whole argument arrives.
    assert_eq!(
        within("whole message", received.recv()).await,
        Some(32 << 20)
    );
    let sum: i64 = within("call", client.peer().call("add", &(2, 2)))
        .await
        .unwrap();
    assert_eq!(sum, 4);
    assert!(!client.peer().is_closed());
}

#[tokio::test]
async fn a_sender_keeps_its_large_messages_within_the_receivers_announced_limits() {
    let router = FnRouter::new("Big").call("blob", |req| async move {
        let (n,): (usize,) = req.args()?;
        req.reply(&n.to_string().repeat(1 << 20))
    });
    let server = serve_with(router, big_config()).await;
    // The client holds one fragmented message of up to 2 MiB at a time; the
    // server answers eight 1 MiB replies at once.
    let client_session = session_config()
        .max_message_size(2 << 20)
        .max_reassembly(2 << 20)
        .max_partials(1);
    let client = rpc::Client::builder()
        .config(rpc::ClientConfig::default().session(client_session))
        .connect(&common::url(&server))
        .await
        .unwrap();
    let calls = (1..=8usize).map(|n| {
        let peer = client.peer().clone();
        async move { peer.call::<_, String>("blob", &(n,)).await }
    });
    let replies = within("eight replies", futures_util::future::join_all(calls)).await;
    for (n, reply) in (1..=8usize).zip(replies) {
        let reply = reply.unwrap();
        assert_eq!(reply.len(), 1 << 20);
        assert!(reply.starts_with(&n.to_string()));
    }
    assert!(!client.peer().is_closed());
}

#[tokio::test]
async fn a_large_broadcast_goes_out_in_fragments() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let config = server_config().session(big_session().fragment_size(64 << 10));
    let server = serve_with(big_router(started_tx), config).await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    raw::send_call(&mut ws, 1, "join").await;
    let _reply = within("join", ws.next()).await.unwrap().unwrap();

    let report = server
        .registry()
        .broadcast(rpc::Audience::All, "news", &"n".repeat(1 << 20))
        .unwrap();
    assert_eq!(report.reached, 1);
    let mut whole = Vec::new();
    let mut pieces = 0;
    loop {
        let Message::Binary(bytes) = within("piece", ws.next()).await.unwrap().unwrap() else {
            continue;
        };
        let decoded = codec::decode(&bytes, usize::MAX).unwrap();
        let Frame::Fragment(Fragment { last, .. }) = decoded.frame else {
            panic!("a 1 MiB push went out whole: {:?}", decoded.frame);
        };
        pieces += 1;
        whole.extend_from_slice(&decoded.payload);
        if last {
            break;
        }
    }
    assert!(pieces >= 16, "{pieces} pieces of at most 64 KiB");
    let whole = bytes::Bytes::from(whole);
    let decoded = codec::decode(&whole, usize::MAX).unwrap();
    assert!(matches!(decoded.frame, Frame::Notify(n) if n.topic == "news"));
    let text: String = codec::decode_value(&decoded.payload).unwrap();
    assert_eq!(text.len(), 1 << 20);
}

#[tokio::test]
async fn a_fragment_inside_a_fragmented_message_closes_with_1002() {
    let (started_tx, _started) = mpsc::unbounded_channel();
    let server = serve(big_router(started_tx)).await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    // The reassembled message is itself a fragment.
    let inner = codec::encode_raw(
        &Frame::Fragment(Fragment {
            message: 9,
            last: true,
        }),
        b"nested",
    )
    .unwrap();
    let (head, tail) = inner.split_at(2);
    ws.send(fragment(0, false, head)).await.unwrap();
    ws.send(fragment(0, true, tail)).await.unwrap();
    let (code, reason) = within("close", raw::expect_close(&mut ws)).await;
    assert_eq!(code, close_code::PROTOCOL);
    assert!(reason.contains("holds a fragment"), "{reason}");
}
