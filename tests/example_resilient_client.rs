//! The `resilient_client` example, run as its own process against the
//! example server, which the test stops and starts again on the same port:
//! the client's lines show the drop, the reconnect and the calls resuming,
//! and Ctrl-C (SIGINT) ends it with status 0.

mod common;

#[path = "../examples/routers/mod.rs"]
#[allow(dead_code, reason = "the test serves the routers, calls none")]
mod routers;

use std::{path::PathBuf, process::Stdio, time::Duration};

use routers::setup::Options;
use rpc::Server;
use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

/// The example server, as its binary builds it, on `addr`.
async fn serve(addr: &str) -> Server {
    let options = Options::parse([addr.to_owned()]).expect("the address parses");
    options
        .builder()
        .bind(addr)
        .await
        .expect("the server binds")
}

/// The example's binary: `cargo test` builds the examples before it runs
/// the tests; built here when a narrower command did not.
fn example_binary() -> PathBuf {
    let deps = std::env::current_exe().expect("the test knows its path");
    let examples = deps
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/<profile>/deps")
        .join("examples");
    let binary = examples.join("resilient_client");
    if !binary.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--example", "resilient_client"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "the example builds");
    }
    binary
}

/// Reads lines until one satisfies `wanted`; returns it.
async fn line_where(
    lines: &mut Lines<BufReader<ChildStdout>>,
    what: &str,
    wanted: impl Fn(&str) -> bool,
) -> String {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let line = lines
                .next_line()
                .await
                .expect("stdout reads")
                .unwrap_or_else(|| panic!("the example ended before {what}"));
            if wanted(&line) {
                return line;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within 20 s"))
}

fn interrupt(child: &Child) {
    let pid = child.id().expect("the example runs");
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[tokio::test]
async fn it_reconnects_after_a_server_restart_and_exits_0_on_ctrl_c() {
    let server = serve("127.0.0.1:0").await;
    let addr = server.local_addr().unwrap().to_string();
    let mut child = Command::new(example_binary())
        .arg(format!("ws://{addr}"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the example starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();

    line_where(&mut lines, "state connected", |line| {
        line == "state connected"
    })
    .await;
    let first = line_where(&mut lines, "an ok line", |line| line.starts_with("ok ")).await;
    let words: Vec<&str> = first.split(' ').collect();
    let i: i64 = words[1].parse().unwrap();
    assert_eq!(words[2].parse::<i64>().unwrap(), i + i, "{first}");

    server.shutdown().await;
    line_where(&mut lines, "state reconnecting", |line| {
        line == "state reconnecting"
    })
    .await;
    let _server = serve(&addr).await;
    line_where(&mut lines, "state connected again", |line| {
        line == "state connected"
    })
    .await;
    let resumed = line_where(&mut lines, "an ok line after the restart", |line| {
        line.starts_with("ok ")
    })
    .await;
    let j: i64 = resumed.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(j > i, "{resumed} after {first}");

    interrupt(&child);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the example exits on Ctrl-C")
        .unwrap();
    assert!(status.success(), "{status:?}");
}
