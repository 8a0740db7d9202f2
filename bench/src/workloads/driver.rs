//! Closed-loop call drivers: tasks that each keep one call in flight until
//! a deadline, counting only the calls that end inside the measured window.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::task::JoinSet;

use crate::{error::BenchError, systems::BenchClient};

/// The measured part of a run: after the warm-up, for the duration.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    start: Instant,
    end: Instant,
}

impl Window {
    /// A window opening after `warmup` from now and lasting `duration`.
    pub(super) fn after(warmup: Duration, duration: Duration) -> Self {
        let start = Instant::now() + warmup;
        Self {
            start,
            end: start + duration,
        }
    }

    fn contains(self, at: Instant) -> bool {
        at >= self.start && at < self.end
    }

    fn is_over(self) -> bool {
        Instant::now() >= self.end
    }

    /// When the window opens.
    pub(super) fn start(self) -> Instant {
        self.start
    }

    /// When the window closes.
    pub(super) fn end(self) -> Instant {
        self.end
    }

    /// Length of the window in seconds.
    pub(super) fn seconds(self) -> f64 {
        (self.end - self.start).as_secs_f64()
    }
}

/// The call each task repeats.
#[derive(Debug, Clone)]
pub(super) enum Op {
    /// `add(i, 1)`, checked.
    Add,
    /// `echo(text)`, checked by length.
    Echo(Arc<str>),
}

impl Op {
    async fn once<C: BenchClient>(&self, client: &C, i: i64) -> Result<(), BenchError> {
        match self {
            Op::Add => {
                let sum = client.add(i, 1).await?;
                if sum != i + 1 {
                    return Err(BenchError::Unexpected(format!(
                        "add({i}, 1) answered {sum}"
                    )));
                }
            }
            Op::Echo(text) => {
                let back = client.echo(text).await?;
                if back.len() != text.len() {
                    return Err(BenchError::Unexpected(format!(
                        "echo of {} bytes came back with {}",
                        text.len(),
                        back.len()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Runs `in_flight` tasks per client, each repeating `op` until the window
/// ends; answers the number of calls completed inside the window.
pub(super) async fn completed<C: BenchClient>(
    clients: &[Arc<C>],
    in_flight: usize,
    op: &Op,
    window: Window,
) -> Result<u64, BenchError> {
    let mut tasks = JoinSet::new();
    for client in clients {
        for _ in 0..in_flight {
            let client = Arc::clone(client);
            let op = op.clone();
            tasks.spawn(async move {
                let mut counted = 0u64;
                let mut i = 0i64;
                while !window.is_over() {
                    op.once(&*client, i).await?;
                    if window.contains(Instant::now()) {
                        counted += 1;
                    }
                    i += 1;
                }
                Ok::<_, BenchError>(counted)
            });
        }
    }
    let mut total = 0;
    while let Some(joined) = tasks.join_next().await {
        total += joined.map_err(|err| BenchError::Unexpected(format!("driver task: {err}")))??;
    }
    Ok(total)
}

/// Makes one call at a time until the window ends; answers the latency of
/// each call completed inside the window, in nanoseconds, sorted.
pub(super) async fn latencies<C: BenchClient>(
    client: &C,
    window: Window,
) -> Result<Vec<u64>, BenchError> {
    let mut samples = Vec::with_capacity(1 << 16);
    let mut i = 0i64;
    while !window.is_over() {
        let began = Instant::now();
        Op::Add.once(client, i).await?;
        let ended = Instant::now();
        if window.contains(ended) {
            samples.push(u64::try_from((ended - began).as_nanos()).unwrap_or(u64::MAX));
        }
        i += 1;
    }
    samples.sort_unstable();
    Ok(samples)
}
