//! Command-line arguments of `rpc-bench`.
//!
//! ```text
//! rpc-bench [--quick] [--json] [--placement NAME]... [--workload NAME]... [--system NAME]... [--runs N] [--duration SECS]
//! rpc-bench serve <system> <workload> <placement>
//! ```

use std::time::Duration;

use crate::{error::BenchError, runtime::Placement, systems::System, workloads::Workload};

/// Usage text printed for `--help` and after a usage error.
pub const USAGE: &str = "\
usage: rpc-bench [--quick] [--json] [--placement NAME]... [--workload NAME]... [--system NAME]... [--runs N] [--duration SECS]
       rpc-bench serve <system> <workload> <placement>

  --quick           a tiny pass that checks numbers come out (CI smoke)
  --json            print the results as JSON instead of a table
  --placement NAME  one-cpu (1 worker per process, all pinned to one CPU),
                    two-workers (2 workers per process, unpinned) (default: both)
  --workload NAME   latency, pipelined, fanin, idle-memory, fanout, large (default: all of these), cluster (rpc only; needs redis-server)
  --system NAME     rpc (add and echo inline), rpc-pool (every handler on the pool),
                    raw (the batching loop), raw-naive (flush per message), jsonrpsee
                    (default: all; ratios need raw)
  --runs N          runs per figure; the table shows their median (default: 5, quick: 1)
  --duration SECS   measured time of each timed run (default: 1.5, quick: 0.1)";

/// What the binary was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run the benchmark and report.
    Run(Options),
    /// Serve one system for one workload on 127.0.0.1 (the child process).
    Serve {
        /// The system to serve.
        system: System,
        /// The workload the server is sized for.
        workload: Workload,
        /// Where it runs.
        placement: Placement,
    },
    /// Print the usage text.
    Help,
}

/// Options of a benchmark run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// A tiny pass for smoke tests.
    pub quick: bool,
    /// JSON output instead of a table.
    pub json: bool,
    /// Placements to run, in order; each gets its own table.
    pub placements: Vec<Placement>,
    /// Workloads to run, in order.
    pub workloads: Vec<Workload>,
    /// Systems to measure, in order.
    pub systems: Vec<System>,
    /// Runs per figure, overriding the plan's.
    pub runs: Option<usize>,
    /// Measured time of each timed run, overriding the plan's.
    pub duration: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            quick: false,
            json: false,
            placements: Placement::ALL.to_vec(),
            workloads: Workload::ALL.to_vec(),
            systems: System::ALL.to_vec(),
            runs: None,
            duration: None,
        }
    }
}

fn usage(message: impl Into<String>) -> BenchError {
    BenchError::Usage(format!("{}\n\n{USAGE}", message.into()))
}

/// Parses the arguments after the program name.
///
/// # Errors
///
/// [`BenchError::Usage`] naming the argument that is not understood.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, BenchError> {
    let mut args = args.into_iter();
    let mut options = Options::default();
    let mut placements = Vec::new();
    let mut workloads = Vec::new();
    let mut systems = Vec::new();
    let mut first = true;
    while let Some(arg) = args.next() {
        if first && arg == "serve" {
            let system = args.next().ok_or_else(|| usage("serve needs a system"))?;
            let workload = args.next().ok_or_else(|| usage("serve needs a workload"))?;
            let placement = args
                .next()
                .ok_or_else(|| usage("serve needs a placement"))?;
            return Ok(Command::Serve {
                system: System::parse(&system)
                    .ok_or_else(|| usage(format!("no system named `{system}`")))?,
                workload: Workload::parse(&workload)
                    .ok_or_else(|| usage(format!("no workload named `{workload}`")))?,
                placement: Placement::parse(&placement)
                    .ok_or_else(|| usage(format!("no placement named `{placement}`")))?,
            });
        }
        first = false;
        let mut value = |flag: &str| {
            args.next()
                .ok_or_else(|| usage(format!("{flag} needs a value")))
        };
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--json" => options.json = true,
            "-h" | "--help" => return Ok(Command::Help),
            "--placement" => {
                let name = value("--placement")?;
                placements.push(
                    Placement::parse(&name)
                        .ok_or_else(|| usage(format!("no placement named `{name}`")))?,
                );
            }
            "--workload" => {
                let name = value("--workload")?;
                workloads.push(
                    Workload::parse(&name)
                        .ok_or_else(|| usage(format!("no workload named `{name}`")))?,
                );
            }
            "--system" => {
                let name = value("--system")?;
                systems.push(
                    System::parse(&name)
                        .ok_or_else(|| usage(format!("no system named `{name}`")))?,
                );
            }
            "--runs" => {
                let runs = value("--runs")?
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| usage("--runs takes a positive whole number"))?;
                options.runs = Some(runs);
            }
            "--duration" => {
                let secs = value("--duration")?
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0 && *s <= 600.0)
                    .ok_or_else(|| {
                        usage("--duration takes seconds, more than 0 and at most 600")
                    })?;
                options.duration = Some(Duration::from_secs_f64(secs));
            }
            other => return Err(usage(format!("unknown argument `{other}`"))),
        }
    }
    if !placements.is_empty() {
        options.placements = placements;
    }
    if !workloads.is_empty() {
        options.workloads = workloads;
    }
    if !systems.is_empty() {
        options.systems = systems;
    }
    Ok(Command::Run(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn defaults_run_everything() {
        assert_eq!(parse(args("")).unwrap(), Command::Run(Options::default()));
    }

    #[test]
    fn flags_and_repeated_names() {
        let Command::Run(options) = parse(args(
            "--quick --json --workload latency --workload fanout --runs 3 --placement two-workers --system raw-naive",
        ))
        .unwrap() else {
            panic!("expected run");
        };
        assert!(options.quick && options.json);
        assert_eq!(options.placements, [Placement::TwoWorkers]);
        assert_eq!(options.systems, [System::RawNaive]);
        assert_eq!(options.workloads, [Workload::Latency, Workload::Fanout]);
        assert_eq!(options.runs, Some(3));
    }

    #[test]
    fn serve_names_system_and_workload() {
        assert_eq!(
            parse(args("serve jsonrpsee idle-memory one-cpu")).unwrap(),
            Command::Serve {
                system: System::Jsonrpsee,
                workload: Workload::IdleMemory,
                placement: Placement::OneCpu,
            }
        );
        assert!(parse(args("serve raw latency")).is_err());
    }

    #[test]
    fn unknown_names_are_refused() {
        assert!(parse(args("--workload nope")).is_err());
        assert!(parse(args("--runs 0")).is_err());
        assert!(parse(args("--placement four-cpus")).is_err());
        assert!(parse(args("--frobnicate")).is_err());
    }
}
