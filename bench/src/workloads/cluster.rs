//! `cluster`: the registry across processes (docs/scale-out.md), `rpc`
//! only. A local `redis-server` is the bus. Figures:
//!
//! - fan-out of one broadcast to every subscribed session, from a call on
//!   the first node until every session has it: one process without a bus
//!   against three node processes holding a third of the sessions each
//!   (the broadcast reaches the first node's sessions directly and the
//!   others' through Redis);
//! - push latency: from a `broadcast` call until its one subscriber has the
//!   notification, with the caller on the subscriber's node and on another
//!   node; the difference is what crossing the bus adds. The median of
//!   [`SAMPLES`] round trips per run.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use super::{Plan, Workload, fanout::broadcast_round, progress};
use crate::{
    error::BenchError,
    process::ServerProcess,
    report::{Better, Figure},
    stats,
    systems::{BenchClient, Probe, System, connect_many, rpc::RpcClient},
};

/// Round trips per run of the latency figures.
const SAMPLES: usize = 200;

/// How long the servers may take to register every subscription.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(60);

/// Pause between fan-out rounds.
const BETWEEN_ROUNDS: Duration = Duration::from_millis(50);

/// Nodes of the cluster.
const NODES: usize = 3;

pub(super) async fn run(plan: &Plan, systems: &[System]) -> Result<Vec<Figure>, BenchError> {
    let system = System::Rpc;
    if !systems.contains(&system) {
        return Ok(Vec::new());
    }
    let workload = Workload::Cluster;
    let fanout = |label: &str| -> Vec<Figure> {
        plan.fanout_sessions
            .iter()
            .map(|n| {
                Figure::new(
                    workload.name(),
                    format!("fan-out, {label}, {n} sessions"),
                    "ms",
                    Better::Lower,
                )
            })
            .collect()
    };
    let mut single = fanout("1 process");
    let mut spread = fanout("3 nodes");
    let mut same = Figure::new(workload.name(), "push, same node", "µs", Better::Lower);
    let mut other = Figure::new(workload.name(), "push, other node", "µs", Better::Lower);
    let mut round = 0;

    let alone = ServerProcess::spawn(system, workload, plan.placement)?;
    measure_fanout(&[alone], plan, &mut single, &mut round).await?;

    let redis = Redis::start()?;
    let url = redis.url();
    let nodes = (0..NODES)
        .map(|i| {
            let name = format!("node-{i}");
            ServerProcess::spawn_with(
                system,
                workload,
                plan.placement,
                &[("RPC_BENCH_REDIS", &url), ("RPC_BENCH_NODE", &name)],
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    measure_latency(&nodes, plan, &mut same, &mut other, &mut round).await?;
    measure_fanout(&nodes, plan, &mut spread, &mut round).await?;
    drop(nodes);
    drop(redis);
    Ok(single
        .into_iter()
        .chain(spread)
        .chain([same, other])
        .collect())
}

/// Fan-out rounds over `servers`, the sessions spread evenly.
async fn measure_fanout(
    servers: &[ServerProcess],
    plan: &Plan,
    figures: &mut [Figure],
    round: &mut u64,
) -> Result<(), BenchError> {
    let probe = Arc::new(Probe::new());
    let mut clients: Vec<Vec<Arc<RpcClient>>> = vec![Vec::new(); servers.len()];
    for (figure, &sessions) in figures.iter_mut().zip(&plan.fanout_sessions) {
        for (i, server) in servers.iter().enumerate() {
            let want = sessions / servers.len() + usize::from(i < sessions % servers.len());
            let more = want.saturating_sub(clients[i].len());
            clients[i]
                .extend(connect_many::<RpcClient>(server.addr(), more, Some(&probe), true).await?);
        }
        all_subscribed(&clients, sessions).await?;
        let trigger = &clients[0][0];
        let local = clients[0].len() as u64;
        for run in 0..=plan.runs {
            tokio::time::sleep(BETWEEN_ROUNDS).await;
            *round += 1;
            let elapsed = broadcast_round(&**trigger, &probe, *round, sessions, local).await?;
            let millis = elapsed.as_secs_f64() * 1e3;
            keep(plan, figure, run, millis, &format!("{millis:.2} ms"));
        }
    }
    Ok(())
}

/// Median push latency to one subscriber on the second node, triggered
/// from its own node and from the first.
async fn measure_latency(
    nodes: &[ServerProcess],
    plan: &Plan,
    same: &mut Figure,
    other: &mut Figure,
    round: &mut u64,
) -> Result<(), BenchError> {
    let probe = Arc::new(Probe::new());
    let subscriber = connect_many::<RpcClient>(nodes[1].addr(), 1, Some(&probe), true).await?;
    let near = connect_many::<RpcClient>(nodes[1].addr(), 1, None, false).await?;
    let far = connect_many::<RpcClient>(nodes[0].addr(), 1, None, false).await?;
    for run in 0..=plan.runs {
        for (figure, trigger, local) in [(&mut *same, &near[0], 1), (&mut *other, &far[0], 0)] {
            let mut samples = Vec::with_capacity(SAMPLES);
            for _ in 0..SAMPLES {
                *round += 1;
                let elapsed = broadcast_round(&**trigger, &probe, *round, 1, local).await?;
                samples.push(elapsed.as_secs_f64() * 1e6);
            }
            let median = stats::median(&samples).unwrap_or(f64::NAN);
            keep(plan, figure, run, median, &format!("{median:.0} µs"));
        }
    }
    drop(subscriber);
    Ok(())
}

/// Waits until the nodes together count `sessions` subscribers (round 0
/// broadcasts answer each node's count; probes ignore them).
async fn all_subscribed(
    clients: &[Vec<Arc<RpcClient>>],
    sessions: usize,
) -> Result<(), BenchError> {
    let deadline = Instant::now() + SUBSCRIBE_TIMEOUT;
    loop {
        let mut counted = 0;
        for node in clients {
            counted += node[0].broadcast(0).await?;
        }
        if usize::try_from(counted).ok() == Some(sessions) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(BenchError::Timeout {
                what: "registering every subscription",
                seconds: SUBSCRIBE_TIMEOUT.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A `redis-server` on a free port, without persistence; killed when
/// dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Result<Self, BenchError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir", "/tmp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| BenchError::Unexpected(format!("redis-server does not start: {err}")))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            if line?.contains("Ready to accept connections") {
                // Keep draining its output so that it never blocks.
                std::thread::spawn(move || lines.for_each(drop));
                return Ok(Self { child, port });
            }
        }
        let _ = child.kill();
        Err(BenchError::Unexpected(
            "redis-server exited before it was ready".into(),
        ))
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Keeps `value` in `figure` and reports it as `shown`, unless `run` is
/// the warm-up (run 0).
fn keep(plan: &Plan, figure: &mut Figure, run: usize, value: f64, shown: &str) {
    if run == 0 {
        return;
    }
    figure.push(System::Rpc, value);
    progress(
        plan,
        Workload::Cluster,
        run - 1,
        System::Rpc,
        &format!("{}: {shown}", figure.metric),
    );
}
