//! Server processes. The client side re-executes its own binary as
//! `rpc-bench serve <system> <workload> <placement>`; the child starts the
//! server on 127.0.0.1 port 0, prints the bound address as one line on
//! stdout, and exits when its stdin closes, so a dying parent never leaves
//! it behind. Also what the benchmark reads of processes: resident memory,
//! CPU time, open descriptors.

use std::{
    io::{self, BufRead, BufReader, Read, Write},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    thread,
    time::Duration,
};

use tokio::sync::oneshot;

use crate::{error::BenchError, runtime::Placement, systems::System, workloads::Workload};

/// How long a child may take to print its address.
const STARTUP: Duration = Duration::from_secs(30);

/// A server running in a child process; killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    system: System,
}

impl ServerProcess {
    /// Starts `system`'s server for `workload` in a child process with the
    /// runtime of `placement`, and waits for its address.
    ///
    /// # Errors
    ///
    /// When the child cannot start or does not announce an address.
    pub fn spawn(
        system: System,
        workload: Workload,
        placement: Placement,
    ) -> Result<Self, BenchError> {
        Self::spawn_with(system, workload, placement, &[])
    }

    /// [`spawn`](Self::spawn) with environment variables for the child
    /// (the `cluster` workload's `RPC_BENCH_REDIS` and `RPC_BENCH_NODE`).
    ///
    /// # Errors
    ///
    /// As `spawn`.
    pub fn spawn_with(
        system: System,
        workload: Workload,
        placement: Placement,
        env: &[(&str, &str)],
    ) -> Result<Self, BenchError> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["serve", system.name(), workload.name(), placement.name()])
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        // Read the address on a thread so that a silent child cannot hang us.
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = tx.send(BufReader::new(stdout).read_line(&mut line).map(|_| line));
        });
        let Ok(line) = rx.recv_timeout(STARTUP) else {
            let _ = child.kill();
            return Err(BenchError::Timeout {
                what: "server start",
                seconds: STARTUP.as_secs(),
            });
        };
        let line = line?;
        let addr = line.trim().parse().map_err(|_| {
            let _ = child.kill();
            BenchError::Unexpected(format!(
                "{} server printed {line:?}, not an address",
                system.name()
            ))
        })?;
        Ok(Self {
            child,
            addr,
            system,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The system it serves.
    pub fn system(&self) -> System {
        self.system
    }

    /// Resident memory of the server process now, in KiB (`VmRSS`).
    ///
    /// # Errors
    ///
    /// When `/proc/<pid>/status` cannot be read or has no `VmRSS` line.
    pub fn rss_kib(&self) -> Result<u64, BenchError> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| BenchError::Unexpected("no VmRSS in /proc/<pid>/status".into()))
    }

    /// CPU time (user + system) the server process has used so far.
    ///
    /// # Errors
    ///
    /// When `/proc/<pid>/stat` cannot be read or parsed.
    pub fn cpu_time(&self) -> Result<Duration, BenchError> {
        cpu_time(&self.child.id().to_string())
    }
}

/// CPU time (user + system) this process has used so far.
///
/// # Errors
///
/// When `/proc/self/stat` cannot be read or parsed.
pub fn own_cpu_time() -> Result<Duration, BenchError> {
    cpu_time("self")
}

/// User + system time of every thread of process `pid` (dead threads
/// included), from fields 14 and 15 of `/proc/<pid>/stat`. The kernel
/// scales them to the process's exact runtime and reports them in clock
/// ticks, so they are exact to one tick (10 ms at the usual 100 ticks/s).
fn cpu_time(pid: &str) -> Result<Duration, BenchError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let malformed = || BenchError::Unexpected(format!("cannot parse /proc/{pid}/stat: {stat:?}"));
    // The command name (field 2) is in parentheses and may hold spaces and
    // parentheses itself; the fields after the last `)` start at field 3.
    let (_, rest) = stat.rsplit_once(')').ok_or_else(malformed)?;
    let mut fields = rest.split_whitespace().skip(14 - 3);
    let mut ticks = || -> Result<u64, BenchError> {
        fields
            .next()
            .and_then(|field| field.parse().ok())
            .ok_or_else(malformed)
    };
    let ticks = ticks()? + ticks()?;
    let per_second = rustix::param::clock_ticks_per_second().max(1);
    Ok(Duration::from_secs(ticks / per_second)
        + Duration::from_nanos((ticks % per_second) * 1_000_000_000 / per_second))
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Child side: prints the server's address for the parent.
///
/// # Errors
///
/// When stdout is closed.
pub fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{addr}")?;
    stdout.flush()
}

/// Child side: completes when the parent closes our stdin (it exited or
/// dropped its handle). A thread of its own blocks on stdin, so a
/// current-thread runtime keeps serving while this is awaited.
pub async fn parent_gone() {
    let (gone, wait) = oneshot::channel::<()>();
    thread::spawn(move || {
        let mut sink = [0u8; 64];
        let mut stdin = io::stdin().lock();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        drop(gone);
    });
    let _ = wait.await;
}

/// File descriptors this process has open now.
///
/// # Errors
///
/// When `/proc/self/fd` cannot be listed.
pub fn open_fds() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/fd")?.count())
}

/// Waits until this process has fewer than `limit` descriptors open, so
/// that the connections of one system are gone before the next system opens
/// as many (the descriptor limit is 20,000 here).
///
/// # Errors
///
/// [`BenchError::Timeout`] when they are not closed within `timeout`.
pub async fn wait_for_fds_below(limit: usize, timeout: Duration) -> Result<(), BenchError> {
    let deadline = tokio::time::Instant::now() + timeout;
    while open_fds()? >= limit {
        if tokio::time::Instant::now() >= deadline {
            return Err(BenchError::Timeout {
                what: "closing the previous connections",
                seconds: timeout.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_time_grows_with_work() {
        let before = own_cpu_time().unwrap();
        let began = std::time::Instant::now();
        let mut x = 0u64;
        // Spin until a clock tick is charged to us; a loaded machine may
        // take a while to give us 10 ms of CPU.
        while own_cpu_time().unwrap() == before && began.elapsed() < Duration::from_secs(10) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
        assert!(own_cpu_time().unwrap() > before);
    }
}
