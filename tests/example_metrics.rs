//! The `server` example's `--metrics ADDR`: after a peer's calls to `add`,
//! `GET /metrics` on that address answers, in Prometheus' text format, the
//! calls counter for method `add` and outcome `ok` with their number.
//!
//! In a binary of its own: the exporter is the process's one recorder, and
//! every server in the process would count into the same series.

#![cfg(feature = "metrics")]

mod common;

#[path = "../examples/routers/mod.rs"]
#[allow(dead_code, reason = "the test calls `add` only")]
mod routers;

use common::within;
use routers::{CalculatorClient, setup::Options};
use rpc::Client;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A free port on 127.0.0.1: the exporter binds the address it is given
/// and does not tell which port port 0 became.
async fn free_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// `GET /metrics` over HTTP/1.1; the body.
async fn scrape(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// The value of the sample `name{labels}` in Prometheus' text format.
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let series = format!("{name}{{{labels}}}");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series.as_str()))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test]
async fn metrics_flag_serves_the_calls_counter() {
    let port = free_port().await;
    let metrics = format!("127.0.0.1:{port}");
    let options = Options::parse(["127.0.0.1:0", "--metrics", &metrics].map(str::to_owned))
        .expect("the flags parse");
    options.install_metrics().expect("the exporter starts");
    let server = options
        .builder()
        .bind(options.addr.as_str())
        .await
        .expect("the server binds");

    let client = Client::connect(&format!("ws://{}", server.local_addr().unwrap()))
        .await
        .unwrap();
    let calculator = CalculatorClient::new(client.peer());
    let n = 5_u32;
    for i in 0..n {
        let sum = within("add", calculator.add(i64::from(i), 1))
            .await
            .unwrap();
        assert_eq!(sum, i64::from(i) + 1);
    }

    let text = within("the scrape", scrape(port)).await;
    let calls = sample(
        &text,
        rpc::metrics::CALLS_SERVED,
        r#"method="add",outcome="ok""#,
    );
    assert_eq!(calls, Some(f64::from(n)), "{text}");
    assert_eq!(
        sample(&text, rpc::metrics::SESSIONS_OPEN, r#"side="server""#),
        Some(1.0),
        "{text}"
    );
    client.close().await;
    server.shutdown().await;
}
