//! `rpc` against the `server` example, run as its own process on a free
//! port: discover lists its routers, a call is answered, a typed error
//! comes back decoded, and a stream stops at its limit.

mod common;

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use common::{fails, rpc, stderr, stdout};

/// The example's binary: built here when no earlier command built it.
fn example_binary() -> PathBuf {
    let deps = std::env::current_exe().expect("the test knows its path");
    let profile = deps
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/<profile>/deps");
    let binary = profile.join("examples").join("server");
    if !binary.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "wsduplex", "--example", "server"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "the example builds");
    }
    binary
}

/// The example server, killed when dropped.
struct ExampleServer {
    child: Child,
    url: String,
}

impl ExampleServer {
    fn start() -> Self {
        let mut child = Command::new(example_binary())
            .arg("127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the example starts");
        let stdout = child.stdout.take().expect("piped");
        // Its first line: `listening on ws://127.0.0.1:PORT`.
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the example writes its address");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("not an address line: {line}"))
            .to_owned();
        Self { child, url }
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_example_server_is_discovered_called_and_streamed() {
    let server = ExampleServer::start();
    let output = rpc().args(["discover", &server.url]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let table = stdout(&output);
    for row in [
        "add(a: i64, b: i64) -> i64",
        "math.div(a: i64, b: i64) -> Result<i64, DivError>",
        "count(n: u64) -> Stream<Item = u64>",
    ] {
        assert!(table.contains(row), "no `{row}` in\n{table}");
    }
    assert!(table.contains("enum DivError { ByZero }"), "{table}");

    rpc()
        .args(["call", &server.url, "add", r#"{"a": 40, "b": 2}"#])
        .assert()
        .success()
        .stdout("42\n");

    let error = fails(rpc().args(["call", &server.url, "math.div", "[1, 0]"]), 1);
    let error: serde_json::Value = serde_json::from_str(&error).expect("one JSON object");
    assert_eq!(error["kind"], "application");
    assert_eq!(error["data"], "ByZero");

    rpc()
        .args(["stream", &server.url, "count", "[100]", "--limit", "3"])
        .assert()
        .success()
        .stdout("0\n1\n2\n");
}
