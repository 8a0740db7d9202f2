//! What the end-to-end tests share: a server on 127.0.0.1:0 running on a
//! runtime of its own (the test thread blocks on the `rpc` process), and
//! the `rpc` command, bounded in time.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different subset"
)]

pub mod shop;

use std::time::Duration;

use rpc::{Server, ServerBuilder};

/// A server on a free port of 127.0.0.1, served by a runtime that lives as
/// long as this value.
pub struct Served {
    pub url: String,
    server: Option<Server>,
    runtime: tokio::runtime::Runtime,
}

impl Served {
    /// Serves `builder`'s routers; `builder` is made on the server's
    /// runtime (a router may spawn).
    pub fn start(builder: impl FnOnce() -> ServerBuilder) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime starts");
        let server = runtime.block_on(async {
            builder()
                .bind("127.0.0.1:0")
                .await
                .expect("the server binds 127.0.0.1:0")
        });
        let url = format!("ws://{}", server.local_addr().expect("it listens"));
        Self {
            url,
            server: Some(server),
            runtime,
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

/// The `rpc` binary, given at most 20 s to finish.
pub fn rpc() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("rpc").expect("cargo built `rpc`");
    command.timeout(Duration::from_secs(20));
    command
}

/// Runs `command`, checks that it exits with `code`, and returns what it
/// wrote to stderr.
pub fn fails(command: &mut assert_cmd::Command, code: i32) -> String {
    let output = command.output().expect("rpc runs");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(code), "{message}");
    message
}

/// What `output` wrote to stdout, as text.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

/// What `output` wrote to stderr, as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// The JSON object `output` wrote to stderr.
pub fn stderr_json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stderr).expect("stderr is one JSON object")
}
