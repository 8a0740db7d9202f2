//! What is measured. Each workload starts one server process per system,
//! interleaves the systems run by run (so drift on the machine hits all of
//! them alike), and returns its [`Figure`]s.
//!
//! | workload | shape | figure |
//! | --- | --- | --- |
//! | `latency` | 1 connection, 1 `add` call in flight | p50, p99, p99.9 in µs; calls/s; CPU per call |
//! | `pipelined` | 1 connection, 256 `add` calls in flight | calls/s; CPU per call |
//! | `fanin` | 64 connections x 16 `add` calls in flight | calls/s; CPU per call |
//! | `idle-memory` | 2,000 connections, one call each, then idle | server RSS growth per connection, KiB |
//! | `fanout` | 1,000 then 10,000 subscribed connections | time until all received one notification, ms |
//! | `large` | 1 connection, 4 `echo` calls of 1 MiB in flight | MB/s, both directions; CPU per call |
//! | `cluster` (`rpc` only, not in the default set: it needs `redis-server`) | 1 process vs 3 nodes on a Redis bus, 1,000 then 10,000 sessions; one session local vs on another node | fan-out time, ms; push latency, µs |
//!
//! CPU per call is the user + system time the server process, and apart
//! from it the client process, used during the measured window, divided by
//! the calls completed in it (`cpu`).

mod cluster;
mod cpu;
mod driver;
mod fanout;
mod idle_memory;
mod latency;
mod throughput;

use std::time::Duration;

use serde::Serialize;

use crate::{
    error::BenchError,
    process::ServerProcess,
    report::Figure,
    runtime::Placement,
    systems::{ServeConfig, System},
};

/// A workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// One call at a time on one connection.
    Latency,
    /// 256 calls in flight on one connection.
    Pipelined,
    /// 64 connections with 16 calls in flight each.
    Fanin,
    /// Server memory per idle connection.
    IdleMemory,
    /// One notification to many sessions.
    Fanout,
    /// 1 MiB payloads.
    Large,
    /// Fan-out and push latency across nodes of a cluster (needs
    /// `redis-server`; only with `--workload cluster`).
    Cluster,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 6] = [
        Workload::Latency,
        Workload::Pipelined,
        Workload::Fanin,
        Workload::IdleMemory,
        Workload::Fanout,
        Workload::Large,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Latency => "latency",
            Workload::Pipelined => "pipelined",
            Workload::Fanin => "fanin",
            Workload::IdleMemory => "idle-memory",
            Workload::Fanout => "fanout",
            Workload::Large => "large",
            Workload::Cluster => "cluster",
        }
    }

    /// The workload with this name (`cluster` too, which is not in
    /// [`ALL`](Self::ALL)).
    pub fn parse(name: &str) -> Option<Workload> {
        Self::ALL
            .into_iter()
            .chain([Workload::Cluster])
            .find(|w| w.name() == name)
    }

    /// How a server is sized for this workload: room for the most
    /// connections any plan opens, so `--quick` and full runs share servers'
    /// settings.
    pub fn serve_config(self) -> ServeConfig {
        let max_connections = match self {
            Workload::Fanout | Workload::Cluster => 12_000,
            Workload::IdleMemory => 4_000,
            _ => 1_000,
        };
        ServeConfig { max_connections }
    }
}

/// Durations, counts and sizes of one benchmark run, and where its
/// processes run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The placement of the client and server processes; the caller runs
    /// the client side on its runtime.
    pub placement: Placement,
    /// Runs per figure; the report shows their median.
    pub runs: usize,
    /// Time each timed run runs before it starts counting.
    pub warmup: Duration,
    /// Time each timed run counts.
    pub duration: Duration,
    /// Calls in flight in `pipelined`.
    pub pipelined_in_flight: usize,
    /// Connections of `fanin`.
    pub fanin_connections: usize,
    /// Calls in flight per connection in `fanin`.
    pub fanin_in_flight: usize,
    /// Connections opened by `idle-memory`.
    pub idle_connections: usize,
    /// Session counts of `fanout`, ascending.
    pub fanout_sessions: Vec<usize>,
    /// Payload size of `large`, in bytes.
    pub large_bytes: usize,
    /// Calls in flight in `large`.
    pub large_in_flight: usize,
    /// Pause before reading a server's memory, so that it has settled.
    pub settle: Duration,
}

impl Plan {
    /// The full suite: a few minutes on a 2-core machine.
    pub fn full() -> Self {
        Self {
            placement: Placement::TwoWorkers,
            runs: 5,
            warmup: Duration::from_millis(250),
            duration: Duration::from_millis(1500),
            pipelined_in_flight: 256,
            fanin_connections: 64,
            fanin_in_flight: 16,
            idle_connections: 2_000,
            fanout_sessions: vec![1_000, 10_000],
            large_bytes: 1 << 20,
            large_in_flight: 4,
            settle: Duration::from_millis(300),
        }
    }

    /// A tiny pass that checks every path produces numbers (CI smoke).
    pub fn quick() -> Self {
        Self {
            placement: Placement::TwoWorkers,
            runs: 1,
            warmup: Duration::from_millis(20),
            duration: Duration::from_millis(100),
            pipelined_in_flight: 32,
            fanin_connections: 4,
            fanin_in_flight: 4,
            idle_connections: 20,
            fanout_sessions: vec![10, 50],
            large_bytes: 64 << 10,
            large_in_flight: 2,
            settle: Duration::from_millis(50),
        }
    }
}

/// Runs `workload` for every system in `systems`.
///
/// # Errors
///
/// The first failure of a server or a measurement.
pub async fn run(
    workload: Workload,
    plan: &Plan,
    systems: &[System],
) -> Result<Vec<Figure>, BenchError> {
    match workload {
        Workload::Latency => latency::run(plan, systems).await,
        Workload::Pipelined => throughput::pipelined(plan, systems).await,
        Workload::Fanin => throughput::fanin(plan, systems).await,
        Workload::IdleMemory => idle_memory::run(plan, systems).await,
        Workload::Fanout => fanout::run(plan, systems).await,
        Workload::Large => throughput::large(plan, systems).await,
        Workload::Cluster => cluster::run(plan, systems).await,
    }
}

/// One server process per system, for `workload`, placed as `plan` says.
fn spawn_servers(
    workload: Workload,
    plan: &Plan,
    systems: &[System],
) -> Result<Vec<ServerProcess>, BenchError> {
    systems
        .iter()
        .map(|system| ServerProcess::spawn(*system, workload, plan.placement))
        .collect()
}

/// Reports progress on stderr (stdout carries the results).
fn progress(plan: &Plan, workload: Workload, run: usize, system: System, what: &str) {
    eprintln!(
        "[{} {}] run {}/{} {:<9} {what}",
        plan.placement.name(),
        workload.name(),
        run + 1,
        plan.runs,
        system.name()
    );
}
