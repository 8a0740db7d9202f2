//! `fanout`: one notification from the server to every subscribed session;
//! the time from triggering the broadcast (one call on the first
//! connection) until every connection has received it. Each server holds
//! its sessions: `rpc` calls `session.peer().notify(..)` per session
//! (encoding once per session), `raw` writes one encoded frame to every
//! connection's writer, jsonrpsee sends on every subscription sink.
//!
//! Per system, one server: the sessions of the smaller count are opened
//! first, measured, then topped up to the larger count. Before measuring,
//! the client waits until the server counts every subscriber; one warm-up
//! round per count is not counted; rounds are 50 ms apart.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use super::{Plan, Workload, progress};
use crate::{
    error::BenchError,
    process::{ServerProcess, wait_for_fds_below},
    report::{Better, Figure},
    systems::{BenchClient, Probe, System, connect_many},
    with_client,
};

/// How long one broadcast may take to arrive everywhere.
const ROUND_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the server may take to register every subscription.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Pause between rounds, so that the work a round leaves behind (handler
/// tasks ending, buffers flushing) does not land in the next one.
const BETWEEN_ROUNDS: Duration = Duration::from_millis(50);

/// Descriptors the client process may keep between systems.
const FDS_BETWEEN_SYSTEMS: usize = 256;

pub(super) async fn run(plan: &Plan, systems: &[System]) -> Result<Vec<Figure>, BenchError> {
    let workload = Workload::Fanout;
    let mut figures: Vec<Figure> = plan
        .fanout_sessions
        .iter()
        .map(|n| {
            Figure::new(
                workload.name(),
                format!("{n} sessions"),
                "ms",
                Better::Lower,
            )
        })
        .collect();
    for &system in systems {
        let server = ServerProcess::spawn(system, workload, plan.placement)?;
        with_client!(system, C => measure::<C>(&server, plan, &mut figures).await)?;
        drop(server);
        wait_for_fds_below(FDS_BETWEEN_SYSTEMS, Duration::from_secs(60)).await?;
    }
    Ok(figures)
}

async fn measure<C: BenchClient>(
    server: &ServerProcess,
    plan: &Plan,
    figures: &mut [Figure],
) -> Result<(), BenchError> {
    let probe = Arc::new(Probe::new());
    let mut clients: Vec<Arc<C>> = Vec::new();
    let mut round = 0u64;
    for (figure, &sessions) in figures.iter_mut().zip(&plan.fanout_sessions) {
        let more = sessions.saturating_sub(clients.len());
        clients.extend(connect_many::<C>(server.addr(), more, Some(&probe), true).await?);
        all_subscribed(&*clients[0], sessions).await?;
        for run in 0..=plan.runs {
            tokio::time::sleep(BETWEEN_ROUNDS).await;
            round += 1;
            let all = sessions as u64;
            let elapsed = broadcast_round(&*clients[0], &probe, round, sessions, all).await?;
            let millis = elapsed.as_secs_f64() * 1e3;
            if run > 0 {
                figure.push(server.system(), millis);
                progress(
                    plan,
                    Workload::Fanout,
                    run - 1,
                    server.system(),
                    &format!("{sessions} sessions: {millis:.2} ms"),
                );
            }
        }
    }
    Ok(())
}

/// Waits until the server counts `sessions` subscribers. A jsonrpsee
/// subscription is answered before its callback has stored the sink, so the
/// last subscribe call can return before the server would notify it. Round
/// 0 broadcasts count subscribers; probes ignore them.
async fn all_subscribed<C: BenchClient>(trigger: &C, sessions: usize) -> Result<(), BenchError> {
    let deadline = Instant::now() + SUBSCRIBE_TIMEOUT;
    while usize::try_from(trigger.broadcast(0).await?).ok() != Some(sessions) {
        if Instant::now() >= deadline {
            return Err(BenchError::Timeout {
                what: "registering every subscription",
                seconds: SUBSCRIBE_TIMEOUT.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// One round: arms the probe, triggers the broadcast, and answers the
/// time until all `sessions` had the notification. The broadcast must
/// report `reached` sessions (those of the trigger's own server); one that
/// reached another number fails at once rather than after the timeout.
pub(super) async fn broadcast_round<C: BenchClient>(
    trigger: &C,
    probe: &Probe,
    round: u64,
    sessions: usize,
    reached: u64,
) -> Result<Duration, BenchError> {
    probe.arm(round, sessions);
    let began = Instant::now();
    let all_received = async {
        tokio::time::timeout(ROUND_TIMEOUT, probe.wait())
            .await
            .map_err(|_| BenchError::Timeout {
                what: "a broadcast",
                seconds: ROUND_TIMEOUT.as_secs(),
            })?;
        Ok(began.elapsed())
    };
    let sent = async {
        let sent = trigger.broadcast(round).await?;
        if sent == reached {
            Ok(())
        } else {
            Err(BenchError::Unexpected(format!(
                "broadcast reached {sent} sessions, not {reached}"
            )))
        }
    };
    let ((), elapsed) = tokio::try_join!(sent, all_received)?;
    Ok(elapsed)
}
