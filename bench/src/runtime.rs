//! The tokio runtime every process of the benchmark runs on, client and
//! servers alike, so that no system gets more threads than another.

use std::io;

use tokio::runtime::{Builder, Runtime};

/// Worker threads of each runtime: the machine has two cores, shared by the
/// client process and the server process under test.
pub const WORKER_THREADS: usize = 2;

/// A multi-thread runtime with [`WORKER_THREADS`] workers, I/O and timers.
pub fn build() -> io::Result<Runtime> {
    Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .enable_all()
        .build()
}

/// One line describing the runtime, for reports.
pub fn describe() -> String {
    format!(
        "tokio multi-thread runtime, {WORKER_THREADS} workers, in the client process and in each server process"
    )
}
