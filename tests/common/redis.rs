//! A real Redis server for the scale-out tests: Debian's `redis-server`
//! (`.ci/run` installs it) on a free 127.0.0.1 port, without persistence,
//! killed when dropped. Each test starts its own.

use std::{process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

pub struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    /// Starts a server on a free port and waits until it accepts
    /// connections.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut redis = Self { port, child: None };
        redis.restart().await;
        redis
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once (SIGKILL): clients see their connections
    /// reset, as when a broker crashes.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("redis-server is killed");
        }
    }

    /// Starts the server again on the same port, empty.
    pub async fn restart(&mut self) {
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir", "/tmp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server runs (apt-get install redis-server; .ci/run does)");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let ready = async {
            while let Some(line) = lines.next_line().await.expect("redis-server's output") {
                if line.contains("Ready to accept connections") {
                    return;
                }
            }
            panic!("redis-server exited before it was ready");
        };
        tokio::time::timeout(Duration::from_secs(10), ready)
            .await
            .expect("redis-server ready within 10 s");
        // Keep reading its output so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
    }

    /// Publishes `payload` (in `redis-cli`'s quoting: `"\xff"` is a byte)
    /// on `channel` `times` times, in order, through `redis-cli` as another
    /// client of the broker would; returns once all are published.
    pub async fn publish(&self, channel: &str, payload: &str, times: usize) {
        use tokio::io::AsyncWriteExt as _;

        let mut cli = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-cli runs (it comes with redis-server)");
        let mut stdin = cli.stdin.take().expect("stdin is piped");
        let line = format!("PUBLISH {channel} {payload}\n");
        stdin
            .write_all(line.repeat(times).as_bytes())
            .await
            .unwrap();
        drop(stdin);
        let status = tokio::time::timeout(Duration::from_secs(10), cli.wait())
            .await
            .expect("redis-cli finishes within 10 s")
            .unwrap();
        assert!(status.success(), "redis-cli failed: {status}");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
    }
}
