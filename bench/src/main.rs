//! `rpc-bench`: runs the benchmark suite, or (as `rpc-bench serve ...`) one
//! system's server for it. See `docs/performance.md`.

use std::{process::ExitCode, thread};

use rpc_bench::{
    BenchError,
    cli::{self, Command, Options},
    process,
    report::{Report, Section, Setup},
    runtime::Placement,
    systems,
    workloads::{self, Plan},
};

fn main() -> ExitCode {
    let result = cli::parse(std::env::args().skip(1)).and_then(|command| match command {
        Command::Help => {
            println!("{}", cli::USAGE);
            Ok(())
        }
        Command::Serve {
            system,
            workload,
            placement,
        } => serve(system, workload, placement),
        Command::Run(options) => run(&options),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rpc-bench: {}", err.chain());
            ExitCode::FAILURE
        }
    }
}

/// The child process: serve until the parent goes away. Waiting for the
/// parent happens inside the runtime, so that a current-thread runtime keeps
/// running the server meanwhile.
fn serve(
    system: systems::System,
    workload: workloads::Workload,
    placement: Placement,
) -> Result<(), BenchError> {
    placement.runtime()?.block_on(async {
        let running = systems::serve(system, workload.serve_config()).await?;
        process::announce(running.addr())?;
        process::parent_gone().await;
        drop(running);
        Ok(())
    })
}

fn run(options: &Options) -> Result<(), BenchError> {
    let mut plan = if options.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    if let Some(runs) = options.runs {
        plan.runs = runs;
    }
    if let Some(duration) = options.duration {
        plan.duration = duration;
    }
    let mut sections = Vec::new();
    for &placement in &options.placements {
        plan.placement = placement;
        sections.push(measure(&plan, options)?);
    }
    let report = Report {
        setup: Setup {
            runs: plan.runs,
            duration_s: plan.duration.as_secs_f64(),
            quick: options.quick,
            systems: options.systems.clone(),
        },
        sections,
    };
    if options.json {
        println!("{}", report.json());
    } else {
        println!("{}", report.table());
    }
    Ok(())
}

/// Runs every workload in `plan`'s placement. The client side runs on a
/// thread of its own, so that pinning it for `one-cpu` leaves this thread
/// (and the next placement) unpinned.
fn measure(plan: &Plan, options: &Options) -> Result<Section, BenchError> {
    thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = plan.placement.runtime()?;
                let mut figures = Vec::new();
                for workload in &options.workloads {
                    figures.extend(runtime.block_on(workloads::run(
                        *workload,
                        plan,
                        &options.systems,
                    ))?);
                }
                Ok(Section {
                    placement: plan.placement,
                    figures,
                })
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
