//! Closed-loop throughput: `pipelined` (one connection, many calls in
//! flight), `fanin` (many connections, a few calls in flight each) and
//! `large` (big payloads echoed both ways).

use std::sync::Arc;

use super::{
    Plan, Workload,
    cpu::{self, CpuFigures},
    driver::{self, Op, Window},
    progress, spawn_servers,
};
use crate::{
    error::BenchError,
    report::{Better, Figure},
    systems::{System, connect_many},
    with_client,
};

/// The shape of one closed-loop workload.
struct Shape {
    workload: Workload,
    connections: usize,
    in_flight: usize,
    op: Op,
}

/// Runs `shape` `plan.runs` times per system; answers calls completed per
/// second, one value per run and system, and the CPU per call of each run.
async fn calls_per_second(
    shape: &Shape,
    plan: &Plan,
    systems: &[System],
) -> Result<(Figure, CpuFigures), BenchError> {
    let servers = spawn_servers(shape.workload, plan, systems)?;
    let mut figure = Figure::new(shape.workload.name(), "calls/s", "calls/s", Better::Higher);
    let mut cpu = CpuFigures::new(shape.workload.name());
    for run in 0..plan.runs {
        for server in &servers {
            let (completed, used, seconds) = with_client!(server.system(), C => {
                let clients = connect_many::<C>(server.addr(), shape.connections, None, false).await?;
                let window = Window::after(plan.warmup, plan.duration);
                let (completed, used) = tokio::try_join!(
                    driver::completed(&clients, shape.in_flight, &shape.op, window),
                    cpu::over(window, server),
                )?;
                (completed, used, window.seconds())
            });
            #[allow(clippy::cast_precision_loss, reason = "call counts are far below 2^52")]
            let rate = completed as f64 / seconds;
            figure.push(server.system(), rate);
            let cpu_line = cpu.push(server.system(), used, completed);
            progress(
                plan,
                shape.workload,
                run,
                server.system(),
                &format!("{rate:.0} calls/s; {cpu_line}"),
            );
        }
    }
    Ok((figure, cpu))
}

/// `pipelined`: one connection, `plan.pipelined_in_flight` calls in flight.
pub(super) async fn pipelined(plan: &Plan, systems: &[System]) -> Result<Vec<Figure>, BenchError> {
    let shape = Shape {
        workload: Workload::Pipelined,
        connections: 1,
        in_flight: plan.pipelined_in_flight,
        op: Op::Add,
    };
    let (calls, cpu) = calls_per_second(&shape, plan, systems).await?;
    Ok([calls].into_iter().chain(cpu.into_figures()).collect())
}

/// `fanin`: `plan.fanin_connections` connections with
/// `plan.fanin_in_flight` calls in flight each.
pub(super) async fn fanin(plan: &Plan, systems: &[System]) -> Result<Vec<Figure>, BenchError> {
    let shape = Shape {
        workload: Workload::Fanin,
        connections: plan.fanin_connections,
        in_flight: plan.fanin_in_flight,
        op: Op::Add,
    };
    let (calls, cpu) = calls_per_second(&shape, plan, systems).await?;
    Ok([calls].into_iter().chain(cpu.into_figures()).collect())
}

/// `large`: one connection, `plan.large_in_flight` echo calls of
/// `plan.large_bytes` each; MB/s counts the payload in both directions.
pub(super) async fn large(plan: &Plan, systems: &[System]) -> Result<Vec<Figure>, BenchError> {
    let text: Arc<str> = "x".repeat(plan.large_bytes).into();
    let shape = Shape {
        workload: Workload::Large,
        connections: 1,
        in_flight: plan.large_in_flight,
        op: Op::Echo(text),
    };
    let (calls, cpu) = calls_per_second(&shape, plan, systems).await?;
    #[allow(
        clippy::cast_precision_loss,
        reason = "payload sizes are far below 2^52"
    )]
    let megabytes_per_call = 2.0 * plan.large_bytes as f64 / 1e6;
    let mut figure = Figure::new(
        Workload::Large.name(),
        format!("{} KiB echo, both ways", plan.large_bytes >> 10),
        "MB/s",
        Better::Higher,
    );
    for (system, runs) in &calls.runs {
        for rate in runs {
            figure.push(*system, rate * megabytes_per_call);
        }
    }
    Ok([figure].into_iter().chain(cpu.into_figures()).collect())
}
