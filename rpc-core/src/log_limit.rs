//! Bounded logging of events someone else drives (a peer's refused
//! requests, handlers it makes panic, a bus's undecodable messages): a
//! flood makes a few lines per window, each saying how many were left out,
//! instead of one line per event.

use std::{
    sync::{Mutex, PoisonError},
    time::Duration,
};

use tokio::time::Instant;

/// Lines logged per window at most.
const LINES_PER_WINDOW: u32 = 10;

/// The window over which lines are counted.
const WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct State {
    window_start: Instant,
    logged: u32,
    suppressed: u64,
}

/// A budget of log lines: one per session for peer-driven events, one per
/// server for its operations' handlers, one per bus connection for
/// messages it cannot decode.
#[derive(Debug)]
pub(crate) struct LogLimit {
    state: Mutex<State>,
}

impl LogLimit {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                window_start: Instant::now(),
                logged: 0,
                suppressed: 0,
            }),
        }
    }

    /// Runs `log` with the number of events left out since the last line,
    /// unless this window's lines are spent; then only counts the event.
    pub(crate) fn log(&self, log: impl FnOnce(u64)) {
        let suppressed = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            if now.duration_since(state.window_start) >= WINDOW {
                state.window_start = now;
                state.logged = 0;
            }
            if state.logged >= LINES_PER_WINDOW {
                state.suppressed += 1;
                return;
            }
            state.logged += 1;
            std::mem::take(&mut state.suppressed)
        };
        log(suppressed);
    }

    /// Events counted but never logged, for the session's last line.
    pub(crate) fn unlogged(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .suppressed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_flood_logs_a_few_lines_per_window_and_counts_the_rest() {
        let limit = LogLimit::new();
        let mut lines = Vec::new();
        for _ in 0..1000 {
            limit.log(|suppressed| lines.push(suppressed));
        }
        assert_eq!(lines, vec![0; 10]);
        assert_eq!(limit.unlogged(), 990);
        tokio::time::advance(WINDOW).await;
        limit.log(|suppressed| lines.push(suppressed));
        assert_eq!(lines.last(), Some(&990), "the next line counts the rest");
        assert_eq!(limit.unlogged(), 0);
    }
}
