//! A standalone server of every example router, for testing a peer written
//! in another language against all of the protocol, and for load tests. It
//! stays up until Ctrl-C, then shuts down gracefully.
//!
//! ```text
//! cargo run --release --example server -- 127.0.0.1:9000 [--token T] [--max-connections N]
//!     [--tls-cert FILE --tls-key FILE] [--metrics 127.0.0.1:9100]
//!     [--redis redis://127.0.0.1:6379 [--node NAME]]
//! ```
//!
//! - `--token T`: refuse (HTTP 401) every upgrade request without the
//!   header `Authorization: Bearer T`.
//! - `--max-connections N`: serve at most `N` connections at once; more are
//!   refused with HTTP 503 (default 10 000).
//! - `--tls-cert FILE --tls-key FILE`: serve `wss://` with the certificate
//!   chain and private key in these PEM files (built with the `tls`
//!   feature, on by default).
//! - `--metrics ADDR`: serve the library's metrics (docs/observability.md)
//!   in Prometheus' text format at `GET /metrics` on `ADDR`:
//!   `curl http://127.0.0.1:9100/metrics` shows, after a peer's calls,
//!   `rpc_calls_served_total{method="add",outcome="ok"} 3`.
//! - `--redis URL` (built with `--features redis`): make the server one node
//!   of a cluster whose nodes meet in that Redis server, so that `say`
//!   reaches the room's sessions on every node; `--node NAME` names it
//!   (default `node-<pid>`; unique per cluster). See docs/scale-out.md.
//!
//! What it serves, and the frames each method exercises:
//!
//! | method | kind | frames |
//! | --- | --- | --- |
//! | `add(a: i64, b: i64) -> i64` | call | Call, Reply |
//! | `math.div(a: i64, b: i64) -> Result<i64, DivError>` | call | Error code 3 with data for `b = 0` |
//! | `echo(text: String) -> String` | call | Call, Reply |
//! | `bytes(payload: Vec<u8>) -> Vec<u8>` | call | Fragment, both ways, above 64 KiB |
//! | `whoami() -> String` | call | the session, as the server sees it |
//! | `slow(ms: u64) -> u64` | call, 100 ms deadline | Error code 4 when `ms` is 100 or more |
//! | `shout(line: String)` | cast | Cast; nothing comes back |
//! | `count(n: u64) -> stream of u64` | server stream | Open, Item, Credit, End; Cancel when dropped early |
//! | `sum(numbers: upload of i64) -> i64` | client stream | Open, Credit, Item, End, Reply |
//! | `upper(lines: upload of String) -> stream of String` | bidirectional stream | all stream frames both ways |
//! | `callback(x: i64) -> Result<i64, String>` | call | a Call from the server to the caller's `double` |
//! | `notify(text: String) -> Result<(), String>` | call | a Notify from the server on topic `note` |
//! | `join(room: String) -> Result<(), String>` | call | tags the session `room=<room>` |
//! | `say(room: String, text: String) -> Result<u64, String>` | call | a Notify on topic `said` with `(room, text)` to every session in the room, on every node; answers how many of this node's it reached |
//!
//! `callback` calls back **`double(x: i64) -> i64`**, which the caller
//! serves (an error of code 3 explains when it does not); `notify` pushes
//! `text` on topic **`note`**, which reaches the caller's cast
//! `note(text: String)`. Discover lists all of the above. docs/protocol.md,
//! section 9, tells how to test a peer with it.

#[path = "routers/mod.rs"]
mod routers;

use routers::setup::Options;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(complaint) => {
            eprintln!(
                "{complaint}\nusage: server [ADDR] [--token T] [--max-connections N] [--tls-cert FILE --tls-key FILE] [--metrics ADDR] [--redis URL [--node NAME]]"
            );
            std::process::exit(2);
        }
    };
    options.install_metrics()?;
    if let Some(addr) = options.metrics {
        println!("metrics on http://{addr}/metrics");
    }
    let server = options.builder().bind(options.addr.as_str()).await?;
    let scheme = if options.tls.is_some() { "wss" } else { "ws" };
    println!("listening on {scheme}://{}", server.local_addr().unwrap());
    if let Some(cluster) = server.registry().cluster() {
        println!("node {} of a cluster", cluster.node());
    }
    tokio::signal::ctrl_c().await?;
    println!("shutting down");
    server.shutdown().await;
    Ok(())
}
