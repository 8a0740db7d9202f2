//! At-most-once execution of calls naming an operation (`rpc-op-id`): a
//! retry on another connection gets the first run's answer, waits for a
//! run still going, or learns that the answer is gone; never a second run
//! within the server's bounds. Retries are simulated with plain clients
//! sending the header by hand, as a reconnecting client would.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::{FnRouter, connect, raw, server_config, session_config, url, within};
use futures_util::SinkExt;
use rpc::{
    CallOptions, Client, ClientConfig, ErrorCode, HandlerError, Server, ServerConfig, codec,
    protocol::{Call, Frame, OPERATION_ID_HEADER},
};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;

/// What the handlers share with the test: how many times they ran, a gate
/// that `gated` waits at, and word that `gated` started.
struct Probe {
    runs: AtomicUsize,
    gate: Semaphore,
    started: mpsc::UnboundedSender<()>,
}

impl Probe {
    fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<()>) {
        let (started, started_rx) = mpsc::unbounded_channel();
        let probe = Self {
            runs: AtomicUsize::new(0),
            gate: Semaphore::new(0),
            started,
        };
        (Arc::new(probe), started_rx)
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    /// Counts a run; the number of this run, from 1.
    fn run(&self) -> usize {
        self.runs.fetch_add(1, Ordering::SeqCst) + 1
    }
}

fn router(probe: &Arc<Probe>) -> FnRouter {
    let (next, blob, fail, gated) = (
        Arc::clone(probe),
        Arc::clone(probe),
        Arc::clone(probe),
        Arc::clone(probe),
    );
    FnRouter::new("Ops")
        .call("next", move |req| {
            let run = next.run();
            async move { req.reply(&run) }
        })
        .call("blob", move |req| {
            let probe = Arc::clone(&blob);
            async move {
                let (len,): (usize,) = req.args()?;
                req.reply(&(probe.run(), vec![7u8; len]))
            }
        })
        .call("fail", move |_req| {
            let run = fail.run();
            async move { Err(HandlerError::application("it broke", &run)) }
        })
        .call("gated", move |req| {
            let probe = Arc::clone(&gated);
            async move {
                let _ = probe.started.send(());
                probe.gate.acquire().await.expect("open").forget();
                req.reply(&probe.run())
            }
        })
        .call("ping", |req| async move { req.reply(&()) })
}

/// Options naming operation `id`.
fn op(id: u128) -> CallOptions {
    CallOptions::default().header(OPERATION_ID_HEADER, format!("{id:032x}"))
}

async fn call<R: serde::de::DeserializeOwned>(
    client: &Client,
    method: &str,
    args: &impl serde::Serialize,
    options: CallOptions,
) -> Result<R, rpc::Error> {
    within(method, client.peer().call_with(method, args, options)).await
}

async fn serve(probe: &Arc<Probe>, config: ServerConfig) -> Server {
    common::serve_with(router(probe), config).await
}

#[tokio::test]
async fn a_retry_on_another_connection_gets_the_first_answer_without_running_again() {
    let (probe, _started) = Probe::new();
    let server = serve(&probe, server_config()).await;
    let first = connect(&server).await;
    let answer: usize = call(&first, "next", &(), op(1)).await.unwrap();
    first.close().await;

    let retry = connect(&server).await;
    let again: usize = call(&retry, "next", &(), op(1)).await.unwrap();
    assert_eq!((answer, again), (1, 1));
    assert_eq!(probe.runs(), 1);

    // Another operation, and a call naming none, run.
    let other: usize = call(&retry, "next", &(), op(2)).await.unwrap();
    let plain: usize = call(&retry, "next", &(), CallOptions::default())
        .await
        .unwrap();
    assert_eq!((other, plain), (2, 3));
}

#[tokio::test]
async fn an_error_answer_is_kept_and_replayed_with_its_data() {
    let (probe, _started) = Probe::new();
    let server = serve(&probe, server_config()).await;
    let client = connect(&server).await;
    for _ in 0..2 {
        let err = call::<()>(&client, "fail", &(), op(9)).await.unwrap_err();
        let remote = err.remote().expect("a remote error");
        assert_eq!(remote.code(), ErrorCode::APPLICATION);
        assert_eq!(remote.decode_data::<usize>().unwrap(), 1);
    }
    assert_eq!(probe.runs(), 1);
}

#[tokio::test]
async fn a_retry_attaches_to_the_run_its_closed_session_left_behind() {
    let (probe, mut started) = Probe::new();
    let (ended_tx, mut ended) = mpsc::unbounded_channel();
    let server = Server::builder()
        .config(server_config())
        .mount(router(&probe).finished())
        .on_disconnect(move |_, _| {
            let _ = ended_tx.send(());
        })
        .bind("127.0.0.1:0")
        .await
        .unwrap();

    let first = connect(&server).await;
    let peer = first.peer().clone();
    let lost = tokio::spawn(async move { peer.call_with::<_, usize>("gated", &(), op(5)).await });
    within("the handler starts", started.recv()).await;
    first.close().await;
    within("the first session ends", ended.recv()).await;
    assert!(within("the first call", lost).await.unwrap().is_err());

    let retry = connect(&server).await;
    let peer = retry.peer().clone();
    let waiting =
        tokio::spawn(async move { peer.call_with::<_, usize>("gated", &(), op(5)).await });
    // The server admits a session's frames in order: once the ping is
    // answered, the retry is waiting on the run.
    call::<()>(&retry, "ping", &(), CallOptions::default())
        .await
        .unwrap();
    probe.gate.add_permits(1);
    let answer = within("the retry", waiting).await.unwrap().unwrap();
    assert_eq!(answer, 1);
    assert_eq!(probe.runs(), 1);
    assert!(started.try_recv().is_err(), "the handler started once");
}

#[tokio::test]
async fn identities_do_not_share_operations() {
    let (probe, _started) = Probe::new();
    let server = Server::builder()
        .config(server_config())
        .mount(router(&probe).finished())
        .authenticate(common::subject_from_header)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let as_user = |who: &'static str| {
        let url = url(&server);
        async move {
            Client::builder()
                .config(ClientConfig::default().session(session_config()))
                .header("authorization", who)
                .connect(&url)
                .await
                .expect("client connects")
        }
    };
    let alice = as_user("alice").await;
    let bob = as_user("bob").await;
    let anonymous = connect(&server).await;
    let a: usize = call(&alice, "next", &(), op(3)).await.unwrap();
    let b: usize = call(&bob, "next", &(), op(3)).await.unwrap();
    let n: usize = call(&anonymous, "next", &(), op(3)).await.unwrap();
    assert_eq!((a, b, n), (1, 2, 3));

    // Alice on another connection is still Alice.
    let alice_again = as_user("alice").await;
    let replay: usize = call(&alice_again, "next", &(), op(3)).await.unwrap();
    assert_eq!(replay, 1);
    assert_eq!(probe.runs(), 3);
}

#[tokio::test(start_paused = true)]
async fn an_operation_runs_again_once_its_answer_expired() {
    let ttl = Duration::from_secs(60);
    let (probe, _started) = Probe::new();
    let pair = common::pair(
        router(&probe),
        server_config().operation_ttl(ttl),
        session_config(),
    )
    .await;
    let peer = pair.client.peer();
    let first: usize = peer.call_with("next", &(), op(4)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(59)).await;
    let kept: usize = peer.call_with("next", &(), op(4)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let expired: usize = peer.call_with("next", &(), op(4)).await.unwrap();
    assert_eq!((first, kept, expired), (1, 1, 2));
}

#[tokio::test]
async fn the_entry_bound_forgets_the_oldest_operation() {
    let (probe, _started) = Probe::new();
    let server = serve(&probe, server_config().max_operations(2)).await;
    let client = connect(&server).await;
    for id in 1..=3 {
        let _: usize = call(&client, "next", &(), op(id)).await.unwrap();
    }
    // 1 was forgotten to make room for 3.
    let three: usize = call(&client, "next", &(), op(3)).await.unwrap();
    let two: usize = call(&client, "next", &(), op(2)).await.unwrap();
    let one: usize = call(&client, "next", &(), op(1)).await.unwrap();
    assert_eq!((three, two, one), (3, 2, 4));
    assert_eq!(probe.runs(), 4);
}

#[tokio::test]
async fn an_answer_past_the_byte_bound_is_gone_but_not_run_again() {
    let (probe, _started) = Probe::new();
    let server = serve(&probe, server_config().max_operation_bytes(100)).await;
    let client = connect(&server).await;
    let blob = |id, len: usize| {
        let peer = client.peer().clone();
        async move {
            within(
                "blob",
                peer.call_with::<_, (usize, Vec<u8>)>("blob", &(len,), op(id)),
            )
            .await
        }
    };

    // Too large to keep: the first caller has it, a retry is told it is gone.
    assert_eq!(blob(1, 200).await.unwrap().1.len(), 200);
    let err = blob(1, 200).await.unwrap_err();
    assert_eq!(err.remote_code(), Some(ErrorCode::ANSWER_GONE), "{err}");

    // A newer answer pushes the older one out.
    assert_eq!(blob(2, 60).await.unwrap().0, 2);
    assert_eq!(blob(3, 60).await.unwrap().0, 3);
    let err = blob(2, 60).await.unwrap_err();
    assert_eq!(err.remote_code(), Some(ErrorCode::ANSWER_GONE), "{err}");
    assert_eq!(blob(3, 60).await.unwrap().0, 3);
    assert_eq!(probe.runs(), 3);
}

#[tokio::test]
async fn a_malformed_operation_id_is_refused_without_running() {
    let (probe, _started) = Probe::new();
    let server = serve(&probe, server_config()).await;
    let client = connect(&server).await;
    for bad in ["", "xyz", &"A".repeat(32), &"0".repeat(31), &"0".repeat(33)] {
        let options = CallOptions::default().header(OPERATION_ID_HEADER, bad);
        let err = call::<usize>(&client, "next", &(), options)
            .await
            .unwrap_err();
        assert_eq!(err.remote_code(), Some(ErrorCode::BAD_ARGUMENTS), "{bad}");
    }
    assert_eq!(probe.runs(), 0);
}

#[tokio::test]
async fn at_most_sixteen_calls_wait_on_one_operation() {
    let (probe, mut started) = Probe::new();
    let server = serve(&probe, server_config()).await;
    let mut ws = raw::handshaken(server.local_addr().unwrap()).await;
    let op_id = format!("{:032x}", 6);
    // Sent in one burst; the server admits them in order.
    for id in 1..=17 {
        let call = Frame::Call(Call {
            id,
            method: "gated",
            headers: vec![(OPERATION_ID_HEADER, &op_id)],
        });
        let bytes = codec::encode_with(&call, &()).unwrap();
        ws.send(Message::Binary(bytes)).await.unwrap();
    }
    let refused = raw::next_binary(&mut ws).await;
    match codec::decode(&refused, usize::MAX).unwrap().frame {
        Frame::Error(error) => {
            assert_eq!((error.id, error.code), (17, ErrorCode::BUSY), "{error:?}");
        }
        other => panic!("expected the 17th call refused, got {other:?}"),
    }
    within("the handler starts", started.recv()).await;
    probe.gate.add_permits(1);
    let mut answered = Vec::new();
    for _ in 0..16 {
        let message = raw::next_binary(&mut ws).await;
        let decoded = codec::decode(&message, usize::MAX).unwrap();
        let Frame::Reply(reply) = decoded.frame else {
            panic!("expected a reply, got {:?}", decoded.frame);
        };
        assert_eq!(codec::decode_value::<usize>(&decoded.payload).unwrap(), 1);
        answered.push(reply.id);
    }
    answered.sort_unstable();
    assert_eq!(answered, (1..=16).collect::<Vec<_>>());
    assert_eq!(probe.runs(), 1);
}
