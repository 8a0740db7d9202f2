//! Benchmarks of `rpc` side by side with two references, measured the same
//! way in one run: `raw`, a minimal hand-written tokio-tungstenite client and
//! server speaking the same postcard frames (the limit of this stack), and
//! `jsonrpsee`, the JSON-RPC library users pick today.
//!
//! The `rpc-bench` binary starts each system's server in a separate process
//! (`rpc-bench serve <system> <workload>`), drives the client side in its own
//! process, and prints a table of medians with each figure's ratio to `raw`.
//! `docs/performance.md` explains the workloads and holds the latest table.
//!
//! # Layout
//!
//! - [`cli`]: command-line arguments.
//! - [`runtime`]: the one tokio runtime setup every process uses.
//! - [`process`]: server processes: spawning, their address, their memory.
//! - [`systems`]: the three systems behind one client trait, and their servers.
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
