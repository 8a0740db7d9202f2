//! `latency`: one connection, one call in flight; percentiles of the time
//! from sending a call to having its decoded answer.

use std::fmt::Write as _;

use super::{Plan, Workload, driver, progress, spawn_servers};
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
    let servers = spawn_servers(workload, systems)?;
    let mut figures: Vec<Figure> = PERCENTILES
        .iter()
        .map(|(name, _)| Figure::new(workload.name(), *name, "µs", Better::Lower))
        .collect();
    for run in 0..plan.runs {
        for server in &servers {
            let samples = with_client!(server.system(), C => {
                let clients = connect_many::<C>(server.addr(), 1, None, false).await?;
                let window = driver::Window::after(plan.warmup, plan.duration);
                driver::latencies(&*clients[0], window).await?
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
            progress(workload, run, plan.runs, server.system(), &line);
        }
    }
    Ok(figures)
}
