//! Who writes a message: the reader at the end of a burst (its inline
//! handlers' answers), a call's own task when it is the only request in
//! flight, or the writer task (everything else, and any write that would
//! wait). On two workers these race for the socket; every call must still
//! be answered, and right, both ways at once. A race lost here shows as a
//! hang (bounded); the hand-off of a write that would wait is tested
//! deterministically in `rpc-core/src/session/writer.rs`.

mod common;

use std::time::Duration;

use common::{FnRouter, connect_with, serve, within};
use futures_util::future::join_all;
use rpc::Peer;

/// `add` on the reader (inline) and `add_later` on the handler pool, after
/// a yield; `note`, a cast, does nothing.
fn adder(name: &str) -> FnRouter {
    FnRouter::new(name)
        .call("add", |req| async move {
            let (a, b): (i64, i64) = req.args()?;
            req.reply(&(a + b))
        })
        .inline()
        .call("add_later", |req| async move {
            let (a, b): (i64, i64) = req.args()?;
            tokio::task::yield_now().await;
            req.reply(&(a + b))
        })
        .cast("note", |req| async move { req.reply(&()) })
}

/// `tasks` tasks, each making `calls` calls one after another (lone calls
/// when the others are idle, a round of many when they are not), to both
/// methods in turn, with a cast every tenth call; checks every answer.
async fn traffic(peer: &Peer, tasks: i64, calls: i64) {
    let runs = (0..tasks).map(|task| {
        let peer = peer.clone();
        tokio::spawn(async move {
            for n in 0..calls {
                let method = if n % 2 == 0 { "add" } else { "add_later" };
                let sum: i64 = peer.call(method, &(task, n)).await.unwrap();
                assert_eq!(sum, task + n, "{method}({task}, {n})");
                if n % 10 == 0 {
                    peer.cast("note", &()).await.unwrap();
                }
            }
        })
    });
    for run in join_all(runs).await {
        run.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lone_and_batched_calls_both_ways_are_all_answered() {
    let (router, mut sessions) = adder("Server").join_hands_out_sessions();
    let server = serve(router).await;
    let client = connect_with(&server, adder("Client")).await;
    let _: () = within("join", client.peer().call("join", &()))
        .await
        .unwrap();
    let session = within("session", sessions.recv()).await.unwrap();
    let server_peer = session.peer();

    // One task alone: every call is lone, written by its own task and
    // answered by the server's reader at the end of its burst.
    within("lone calls", traffic(client.peer(), 1, 200)).await;
    // Several tasks, both ways at once: lone calls, rounds of the writer
    // task and readers' answers race for each socket.
    let both_ways = async {
        tokio::join!(
            traffic(client.peer(), 8, 200),
            traffic(&server_peer, 8, 200),
        )
    };
    tokio::time::timeout(Duration::from_secs(30), both_ways)
        .await
        .expect("every call answered within 30 s");
    assert!(!session.is_closed() && !client.peer().is_closed());
}
