//! `latency`: one connection, one call in flight; percentiles of the time
//! from sending a call to having its decoded answer, the calls per second
//! this makes, and the CPU each call costs.

use std::fmt::Write as _;

use super::{
    Plan, Workload,
    cpu::{self, CpuFigures},
    driver, progress, spawn_servers,
};
use crate::{
    error::BenchError,
    report::{Better, Figure},
    stats::percentile,
    systems::{System, connect_many},
    with_client,
};

const PERCENTILES: [(&str, f64); 3] = [("p50", 50.0), ("p99", 99.0), ("p99.9", 99.9)];

pub(super) async fn run(plan: &Plan, systems: &[System]) -> Result<Vec<Figure>, BenchError> {
    let workload = Workload::Latency;
    let servers = spawn_servers(workload, plan, systems)?;
    let mut figures: Vec<Figure> = PERCENTILES
        .iter()
        .map(|(name, _)| Figure::new(workload.name(), *name, "µs", Better::Lower))
        .collect();
    let mut rate = Figure::new(workload.name(), "calls/s", "calls/s", Better::Higher);
    let mut cpu = CpuFigures::new(workload.name());
    for run in 0..plan.runs {
        for server in &servers {
            let (samples, used, seconds) = with_client!(server.system(), C => {
                let clients = connect_many::<C>(server.addr(), 1, None, false).await?;
                let window = driver::Window::after(plan.warmup, plan.duration);
                let (samples, used) = tokio::try_join!(
                    driver::latencies(&*clients[0], window),
                    cpu::over(window, server),
                )?;
                (samples, used, window.seconds())
            });
            let mut line = format!("{} calls:", samples.len());
            for (figure, (name, p)) in figures.iter_mut().zip(PERCENTILES) {
                let nanos = percentile(&samples, p)
                    .ok_or_else(|| BenchError::Unexpected("no call completed".into()))?;
                #[allow(clippy::cast_precision_loss, reason = "nanoseconds of one call")]
                let micros = nanos as f64 / 1000.0;
                figure.push(server.system(), micros);
                let _ = write!(line, " {name} {micros:.1} µs");
            }
            let calls = samples.len() as u64;
            #[allow(clippy::cast_precision_loss, reason = "call counts far below 2^52")]
            rate.push(server.system(), calls as f64 / seconds);
            let _ = write!(line, "; {}", cpu.push(server.system(), used, calls));
            progress(plan, workload, run, server.system(), &line);
        }
    }
    figures.push(rate);
    figures.extend(cpu.into_figures());
    Ok(figures)
}
