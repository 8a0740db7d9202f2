//! `rpc-bench`: runs the benchmark suite, or (as `rpc-bench serve ...`) one
//! system's server for it. See `docs/performance.md`.

use std::process::ExitCode;

use rpc_bench::{
    BenchError,
    cli::{self, Command, Options},
    process,
    report::{Report, Setup},
    runtime, systems,
    workloads::{self, Plan},
};

fn main() -> ExitCode {
    let result = cli::parse(std::env::args().skip(1)).and_then(|command| match command {
        Command::Help => {
            println!("{}", cli::USAGE);
            Ok(())
        }
        Command::Serve { system, workload } => serve(system, workload),
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

/// The child process: serve until the parent goes away.
fn serve(system: systems::System, workload: workloads::Workload) -> Result<(), BenchError> {
    let runtime = runtime::build()?;
    let running = runtime.block_on(systems::serve(system, workload.serve_config()))?;
    process::announce(running.addr())?;
    process::wait_for_parent();
    drop(running);
    Ok(())
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
    let runtime = runtime::build()?;
    let mut figures = Vec::new();
    for workload in &options.workloads {
        let measured = runtime.block_on(workloads::run(*workload, &plan, &options.systems))?;
        figures.extend(measured);
    }
    let report = Report {
        setup: Setup {
            runtime: runtime::describe(),
            runs: plan.runs,
            duration_s: plan.duration.as_secs_f64(),
            quick: options.quick,
            systems: options.systems.clone(),
        },
        figures,
    };
    if options.json {
        println!("{}", report.json());
    } else {
        println!("{}", report.table());
    }
    Ok(())
}
