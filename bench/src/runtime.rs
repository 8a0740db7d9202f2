//! Where the benchmark's processes run: one of two placements, chosen on
//! the command line. Within a placement the client process and every server
//! process get the same runtime, so that no system gets more threads than
//! another.
//!
//! - `one-cpu`: a current-thread runtime (one worker) in each process, every
//!   process pinned to the same CPU. Client and server take turns on one
//!   core, so what decides a figure is the CPU each call costs and how well
//!   a system batches when the other side cannot run at the same time.
//! - `two-workers`: a multi-thread runtime with 2 workers in each process,
//!   unpinned: a client and a server process put 4 workers on the
//!   machine's 2 cores, and cross-thread wake-ups count.

use std::io;

use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};
use serde::Serialize;
use tokio::runtime::{Builder, Runtime};

/// Worker threads of each runtime in the `two-workers` placement: the
/// machine has two cores.
pub const WORKER_THREADS: usize = 2;

/// How the processes of a run are laid out on the machine's CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// One worker per process, every process pinned to one shared CPU.
    OneCpu,
    /// Two workers per process, unpinned.
    TwoWorkers,
}

impl Placement {
    /// Every placement, in report order.
    pub const ALL: [Placement; 2] = [Placement::OneCpu, Placement::TwoWorkers];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Placement::OneCpu => "one-cpu",
            Placement::TwoWorkers => "two-workers",
        }
    }

    /// The placement with this name.
    pub fn parse(name: &str) -> Option<Placement> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Builds this placement's runtime, to be driven from the calling
    /// thread. For `one-cpu` the calling thread is first pinned to the
    /// lowest-numbered CPU it may run on. Threads and processes started
    /// from it inherit the pin, and a server process it spawns pins itself
    /// the same way, so every process of the run shares that CPU (start
    /// the benchmark under `taskset -c N` to choose another).
    ///
    /// # Errors
    ///
    /// When the thread cannot be pinned or the runtime cannot start.
    pub fn runtime(self) -> io::Result<Runtime> {
        match self {
            Placement::OneCpu => {
                pin_to_lowest_cpu()?;
                Builder::new_current_thread().enable_all().build()
            }
            Placement::TwoWorkers => Builder::new_multi_thread()
                .worker_threads(WORKER_THREADS)
                .enable_all()
                .build(),
        }
    }

    /// One line describing the runtimes of this placement, for reports.
    pub fn describe(self) -> String {
        match self {
            Placement::OneCpu => "tokio current-thread runtime (1 worker) in the client process and in each server process, all pinned to one CPU".into(),
            Placement::TwoWorkers => format!(
                "tokio multi-thread runtime, {WORKER_THREADS} workers, in the client process and in each server process, unpinned"
            ),
        }
    }
}

/// Pins the calling thread to the lowest-numbered CPU of its affinity mask;
/// answers that CPU.
fn pin_to_lowest_cpu() -> io::Result<usize> {
    let allowed = sched_getaffinity(None)?;
    let cpu = (0..CpuSet::MAX_CPU)
        .find(|&cpu| allowed.is_set(cpu))
        .ok_or_else(|| io::Error::other("the affinity mask is empty"))?;
    let mut one = CpuSet::new();
    one.set(cpu);
    sched_setaffinity(None, &one)?;
    Ok(cpu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for placement in Placement::ALL {
            assert_eq!(Placement::parse(placement.name()), Some(placement));
        }
        assert_eq!(Placement::parse("three-workers"), None);
    }

    #[test]
    fn one_cpu_pins_the_calling_thread() {
        let pinned = std::thread::spawn(|| {
            let _runtime = Placement::OneCpu.runtime().unwrap();
            sched_getaffinity(None).unwrap().count()
        })
        .join()
        .unwrap();
        assert_eq!(pinned, 1);
    }
}
