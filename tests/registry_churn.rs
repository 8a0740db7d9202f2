//! 10,000 sessions come and go: the registry empties by itself and the
//! process's memory returns to its baseline.

mod common;

use std::time::Duration;

use common::{FnRouter, serve, within};

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
    let lanes = (0..4).map(|_| async move {
        for _ in 0..cycles / 4 {
            let client = rpc::Client::connect(url).await.expect("connect");
            let id: u64 = client.peer().call("join", &()).await.expect("join");
            assert!(id > 0);
            client.close().await;
        }
    });
    futures_util::future::join_all(lanes).await;
}

async fn registry_drains(server: &rpc::Server) {
    while !server.registry().is_empty() || server.connections() > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_sessions_leave_no_trace() {
    let router = FnRouter::new("Lobby").call("join", |req| async move {
        req.session().tag("room", "churn");
        req.reply(&req.session().id())
    });
    let server = serve(router).await;
    let url = common::url(&server);

    // Warm up allocator pools and lazily grown tables first.
    within("warm-up", churn(&url, 1_000)).await;
    within("registry drains", registry_drains(&server)).await;
    let baseline = resident_kib();

    tokio::time::timeout(Duration::from_secs(120), churn(&url, 10_000))
        .await
        .expect("10,000 cycles within 2 minutes");
    within("registry drains", registry_drains(&server)).await;
    assert!(
        server
            .registry()
            .find(rpc::Audience::Tag("room", "churn"))
            .is_empty()
    );

    let after = resident_kib();
    let growth = after.saturating_sub(baseline);
    // A leak of even 1 KiB per session would show as ~10 MiB.
    assert!(
        growth < 4 * 1024,
        "resident memory grew by {growth} KiB over 10,000 sessions (baseline {baseline} KiB)"
    );
}
