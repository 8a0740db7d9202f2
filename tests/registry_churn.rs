//! 10,000 sessions come and go, each in several rooms and with an
//! identity: the registry and its indexes empty by themselves and the
//! process's memory returns to its baseline. Waiting is on the registry's
//! events, never on a timer.

mod common;

use std::time::Duration;

use common::{FnRouter, server_config, within};
use rpc::{Audience, Identity, Registry, RegistryStats, Server};

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("linux /proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line")
}

async fn churn(url: &str, cycles: usize) {
    // Four clients at a time: enough to interleave, few enough for 2 cores.
    let lanes = (0..4).map(|lane| async move {
        for _ in 0..cycles / 4 {
            let client = rpc::Client::connect(url).await.expect("connect");
            let id: u64 = client.peer().call("arrive", &lane).await.expect("arrive");
            assert!(id > 0);
            client.close().await;
        }
    });
    futures_util::future::join_all(lanes).await;
}

/// Resolves once no session is registered: it looks again after each event
/// (a lagging subscription is told so, and looks again too).
async fn registry_drains(registry: &Registry) {
    let mut events = registry.events();
    while !registry.is_empty() {
        let _ = events.recv().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_sessions_in_several_rooms_leave_no_trace() {
    // Each session is in two rooms of the same key, moves between rooms of
    // a second key, and has a subject shared by its lane.
    let router = FnRouter::new("Lobby").call("arrive", |req| async move {
        let (lane,): (u32,) = req.args()?;
        let session = req.session();
        session.join("room", "churn")?;
        session.join("room", format!("lane-{lane}"))?;
        session.tag("floor", "1")?;
        session.tag("floor", format!("{}", lane + 2))?;
        req.reply(&session.id())
    });
    let server = Server::builder()
        .config(server_config())
        .mount(router.finished())
        .authenticate(|_| Ok(Some(Identity::new("churner"))))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = common::url(&server);

    // Warm up allocator pools and lazily grown tables first.
    within("warm-up", churn(&url, 1_000)).await;
    within("registry drains", registry_drains(server.registry())).await;
    let baseline = resident_kib();

    tokio::time::timeout(Duration::from_secs(120), churn(&url, 10_000))
        .await
        .expect("10,000 cycles within 2 minutes");
    within("registry drains", registry_drains(server.registry())).await;
    let registry = server.registry();
    assert!(registry.find(Audience::Tag("room", "churn")).is_empty());
    assert!(registry.find(Audience::Identity("churner")).is_empty());
    assert_eq!(
        registry.stats(),
        RegistryStats::default(),
        "no index keeps an entry for a session that left"
    );

    let after = resident_kib();
    let growth = after.saturating_sub(baseline);
    // A leak of even 1 KiB per session would show as ~10 MiB.
    assert!(
        growth < 4 * 1024,
        "resident memory grew by {growth} KiB over 10,000 sessions (baseline {baseline} KiB)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_moving_between_rooms_while_others_come_and_go_are_found_where_they_are() {
    // Tag changes (registry write lock inside each session's tag lock) race
    // with arrivals, departures and look-ups on two threads.
    let router = common::rooms().call(
        "arrive",
        |req| async move { req.reply(&req.session().id()) },
    );
    let server = common::serve(router).await;
    let url = common::url(&server);
    let stayer = rpc::Client::connect(&url).await.unwrap();
    let stayer_id = stayer.session().id();
    let moves = async {
        for round in 0..200u32 {
            let (from, to) = (format!("r{}", round % 3), format!("r{}", (round + 1) % 3));
            let _: bool = stayer.peer().call("join", &(to,)).await.unwrap();
            let _: bool = stayer.peer().call("leave", &(from,)).await.unwrap();
        }
    };
    let lookups = async {
        for round in 0..500 {
            let room = format!("r{}", round % 3);
            for member in server.registry().find(Audience::Tag("room", &room)) {
                // Only the stayer ever joins these rooms.
                assert_eq!(member.id(), stayer_id);
            }
            tokio::task::yield_now().await;
        }
    };
    within("moves", async {
        tokio::join!(moves, lookups, churn(&url, 200))
    })
    .await;
    // Round k joins r(k+1) and leaves r(k): 200 rounds end in r2 alone.
    let rooms: Vec<String> = server
        .registry()
        .get(stayer_id)
        .unwrap()
        .tags()
        .into_iter()
        .map(|(_, room)| room)
        .collect();
    assert_eq!(rooms, ["r2"]);
    stayer.close().await;
    within("stayer departs", server.registry().departed(stayer_id)).await;
    within("registry drains", registry_drains(server.registry())).await;
    assert_eq!(server.registry().stats(), RegistryStats::default());
}
