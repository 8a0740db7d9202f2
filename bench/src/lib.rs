//! Benchmarks of `rpc` side by side with three references, measured the
//! same way in one run: `raw`, the best hand-written tokio-tungstenite
//! client and server we can write for the same postcard frames (writers that
//! flush once per batch: the limit of this stack), `raw-naive`, the same
//! with a flush per message, and `jsonrpsee`, the JSON-RPC library users
//! pick today.
//!
//! The `rpc-bench` binary starts each system's server in a separate process
//! (`rpc-bench serve <system> <workload> <placement>`), drives the client
//! side in its own process, and prints, per placement of the processes on
//! the CPUs, a table of medians with each figure's ratio to `raw`.
//! `docs/performance.md` explains the workloads and holds the latest table.
//!
//! # Layout
//!
//! - [`cli`]: command-line arguments.
//! - [`runtime`]: the placements: the runtime of every process, and pinning.
//! - [`process`]: server processes: spawning, their address; memory and CPU
//!   time of processes.
//! - [`systems`]: the four systems behind one client trait, and their servers.
//! - [`workloads`]: what is measured, and the plan of durations and sizes.
//! - [`stats`], [`report`]: medians and percentiles; the table and JSON.
//! - [`error`]: the one error type.

pub mod cli;
pub mod error;
pub mod process;
pub mod report;
pub mod runtime;
pub mod stats;
pub mod systems;
pub mod workloads;

pub use error::BenchError;

/// A server on 127.0.0.1 serving `router`, and a client connected to it,
/// in this process: what the criterion benches measure through.
///
/// # Panics
///
/// When the server cannot bind or the client cannot connect: a bench has
/// nothing to measure then.
pub async fn serve_and_connect<R: rpc::Router>(router: R) -> (rpc::Server, rpc::Client) {
    let server = rpc::Server::builder()
        .mount(router)
        .bind("127.0.0.1:0")
        .await
        .expect("server binds");
    let client = rpc::Client::connect(&format!("ws://{}", server.local_addr().unwrap()))
        .await
        .expect("client connects");
    (server, client)
}
