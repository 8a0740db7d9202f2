//! User-space instructions per call, counted by valgrind's callgrind:
//! exact and repeatable where time on a shared machine moves by 5-15% from
//! one run to the next, so that a change of a few percent in the work per
//! call shows. Client and server run in this process on one current-thread
//! runtime over loopback TCP, so a count covers both sides of a call; the
//! kernel's share is not counted.
//!
//! `cargo bench -p rpc-bench --bench instructions` runs this binary again
//! under `valgrind --tool=callgrind` once per system and workload,
//! collecting only inside [`instructions_measured_calls`] (the server's
//! start, the connection and a warm-up are left out), and prints a table.
//! Without valgrind it says so and measures nothing.

use std::{
    hint::black_box,
    process::{Command, ExitCode},
};

use futures_util::future::try_join_all;
use rpc_bench::{
    BenchError,
    systems::{self, BenchClient, ServeConfig, System, connect_many},
    with_client,
};

/// Calls measured per run.
const CALLS: u32 = 20_000;
/// Calls made before measuring: buffers, caches and metric handles settle.
const WARM_UP: u32 = 1_000;
/// Calls in flight at once in the pipelined workload.
const IN_FLIGHT: u32 = 64;

const SYSTEMS: [System; 3] = [System::Rpc, System::RpcPool, System::Raw];

#[derive(Clone, Copy)]
enum Workload {
    /// One call at a time.
    Sequential,
    /// Batches of [`IN_FLIGHT`] calls on one connection.
    Pipelined,
}

impl Workload {
    const ALL: [Workload; 2] = [Workload::Sequential, Workload::Pipelined];

    fn name(self) -> &'static str {
        match self {
            Workload::Sequential => "sequential",
            Workload::Pipelined => "pipelined",
        }
    }

    fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }
}

async fn calls<C: BenchClient>(
    client: &C,
    workload: Workload,
    count: u32,
) -> Result<(), BenchError> {
    match workload {
        Workload::Sequential => {
            for i in 0..count {
                black_box(client.add(i.into(), 1).await?);
            }
        }
        Workload::Pipelined => {
            for batch in 0..count / IN_FLIGHT {
                let base = i64::from(batch * IN_FLIGHT);
                let batch = (0..IN_FLIGHT).map(|i| client.add(base + i64::from(i), 1));
                black_box(try_join_all(batch).await?);
            }
        }
    }
    Ok(())
}

/// The measured calls: callgrind collects only while this runs (by name,
/// so it is never inlined). The runtime runs the server's tasks inside it
/// too.
#[inline(never)]
fn instructions_measured_calls<C: BenchClient>(
    runtime: &tokio::runtime::Runtime,
    client: &C,
    workload: Workload,
) -> Result<(), BenchError> {
    runtime.block_on(calls(client, workload, CALLS))
}

async fn serve_and_connect<C: BenchClient>(
    system: System,
) -> Result<(systems::Running, std::sync::Arc<C>), BenchError> {
    let server = systems::serve(system, ServeConfig { max_connections: 4 }).await?;
    let mut clients = connect_many::<C>(server.addr(), 1, None, false).await?;
    let client = clients.pop().expect("one client");
    Ok((server, client))
}

/// Runs inside valgrind: one system, one workload.
fn child(system: System, workload: Workload) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    with_client!(system, C => {
        let (_server, client) = runtime.block_on(serve_and_connect::<C>(system))?;
        runtime.block_on(calls(&*client, workload, WARM_UP))?;
        instructions_measured_calls(&runtime, &*client, workload)
    })
}

/// Runs the child under callgrind; the instructions it counted.
fn count(system: System, workload: Workload) -> Result<u64, String> {
    let out = std::env::temp_dir().join(format!(
        "rpc-bench-callgrind-{}-{}-{}.out",
        std::process::id(),
        system.name(),
        workload.name()
    ));
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--quiet")
        .arg("--toggle-collect=*instructions_measured_calls*")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(exe)
        .args(["--child", system.name(), workload.name()])
        .status()
        .map_err(|e| format!("valgrind: {e}"))?;
    if !status.success() {
        return Err(format!("the child under valgrind failed: {status}"));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&out);
    text.lines()
        .find_map(|line| line.strip_prefix("summary:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| "no summary line in callgrind's output".to_owned())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench -- --list` asks what there is to run: nothing to list.
    if args.iter().any(|arg| arg == "--list") {
        return ExitCode::SUCCESS;
    }
    if let [flag, system, workload] = args.as_slice()
        && flag == "--child"
    {
        let (Some(system), Some(workload)) = (System::parse(system), Workload::named(workload))
        else {
            eprintln!("unknown system or workload: {system} {workload}");
            return ExitCode::FAILURE;
        };
        return match child(system, workload) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("{err}");
                ExitCode::FAILURE
            }
        };
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("valgrind is not installed (apt-get install valgrind): nothing measured");
        return ExitCode::SUCCESS;
    }
    println!("| system | workload | instructions per call, both sides |\n| --- | --- | ---: |");
    for system in SYSTEMS {
        for workload in Workload::ALL {
            match count(system, workload) {
                Ok(total) => {
                    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                    let per_call = total as f64 / f64::from(CALLS);
                    println!(
                        "| {} | {} | {per_call:.0} |",
                        system.name(),
                        workload.name()
                    );
                }
                Err(err) => {
                    eprintln!("{} {}: {err}", system.name(), workload.name());
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    ExitCode::SUCCESS
}
