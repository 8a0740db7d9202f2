//! CPU time per call: the user + system time of the server process, and
//! apart from it of the client process, over a measured window, divided by
//! the calls completed in that window. Both processes are read when the
//! window opens and when it closes, while the calls go on; `/proc` counts in
//! clock ticks (10 ms), which over windows of a second or more is within 1-2%.

use std::time::Duration;

use super::driver::Window;
use crate::{
    error::BenchError,
    process::{self, ServerProcess},
    report::{Better, Figure},
    systems::System,
};

/// CPU time the two processes used during one window.
#[derive(Debug, Clone, Copy)]
pub(super) struct Used {
    server: Duration,
    client: Duration,
}

/// Reads both processes' CPU time as `window` opens and as it closes, and
/// answers the difference. Run it beside the calls it accounts for.
///
/// # Errors
///
/// When a process's CPU time cannot be read.
pub(super) async fn over(window: Window, server: &ServerProcess) -> Result<Used, BenchError> {
    tokio::time::sleep_until(window.start().into()).await;
    let (server_before, client_before) = (server.cpu_time()?, process::own_cpu_time()?);
    tokio::time::sleep_until(window.end().into()).await;
    let (server_after, client_after) = (server.cpu_time()?, process::own_cpu_time()?);
    Ok(Used {
        server: server_after.saturating_sub(server_before),
        client: client_after.saturating_sub(client_before),
    })
}

/// The two CPU-per-call figures of a workload.
#[derive(Debug)]
pub(super) struct CpuFigures {
    server: Figure,
    client: Figure,
}

impl CpuFigures {
    /// Empty figures for `workload`.
    pub(super) fn new(workload: &'static str) -> Self {
        let figure = |side: &str| {
            Figure::new(
                workload,
                format!("{side} CPU per call"),
                "µs",
                Better::Lower,
            )
        };
        Self {
            server: figure("server"),
            client: figure("client"),
        }
    }

    /// Records one run of `system` that completed `calls` calls while the
    /// processes used `used`; answers a line for the progress report.
    pub(super) fn push(&mut self, system: System, used: Used, calls: u64) -> String {
        #[allow(clippy::cast_precision_loss, reason = "call counts far below 2^52")]
        let per_call = |time: Duration| time.as_secs_f64() * 1e6 / calls.max(1) as f64;
        let (server, client) = (per_call(used.server), per_call(used.client));
        self.server.push(system, server);
        self.client.push(system, client);
        format!("CPU per call: server {server:.2} µs, client {client:.2} µs")
    }

    /// The server figure, then the client one.
    pub(super) fn into_figures(self) -> [Figure; 2] {
        [self.server, self.client]
    }
}
