//! `idle-memory`: how much a server's resident memory grows per connection
//! that is open, has made one call, and then idles. A fresh server process
//! per run and system; one warm connection is opened before the baseline so
//! that one-time costs (first-connection allocations, thread caches) are not
//! charged to the idle connections.

use std::time::Duration;

use super::{Plan, Workload, progress};
use crate::{
    error::BenchError,
    process::{ServerProcess, wait_for_fds_below},
    report::{Better, Figure},
    systems::{System, connect_many},
    with_client,
};

/// Descriptors the client process may keep between systems.
const FDS_BETWEEN_SYSTEMS: usize = 256;

pub(super) async fn run(plan: &Plan, systems: &[System]) -> Result<Vec<Figure>, BenchError> {
    let workload = Workload::IdleMemory;
    let n = plan.idle_connections;
    let mut figure = Figure::new(
        workload.name(),
        format!("server RSS per connection, {n} connections"),
        "KiB",
        Better::Lower,
    );
    for run in 0..plan.runs {
        for &system in systems {
            let server = ServerProcess::spawn(system, workload, plan.placement)?;
            let (before, after) = with_client!(system, C => {
                let warm = connect_many::<C>(server.addr(), 1, None, false).await?;
                tokio::time::sleep(plan.settle).await;
                let before = server.rss_kib()?;
                let idle = connect_many::<C>(server.addr(), n, None, false).await?;
                tokio::time::sleep(plan.settle).await;
                let after = server.rss_kib()?;
                drop((warm, idle));
                (before, after)
            });
            drop(server);
            #[allow(clippy::cast_precision_loss, reason = "KiB and counts far below 2^52")]
            let per_connection = after.saturating_sub(before) as f64 / n as f64;
            figure.push(system, per_connection);
            progress(
                plan,
                workload,
                run,
                system,
                &format!("{per_connection:.1} KiB per connection ({before} -> {after} KiB)"),
            );
            wait_for_fds_below(FDS_BETWEEN_SYSTEMS, Duration::from_secs(30)).await?;
        }
    }
    Ok(vec![figure])
}
