//! Compile tests of the `rpc` macros. The library itself is the hygiene
//! case: it has no prelude and no dependency but `rpc`, and its routers
//! must compile all the same. `tests/ui.rs` drives the `pass/` and `fail/`
//! cases with trybuild.

#![no_implicit_prelude]

pub mod fifty;

pub use fifty::Fifty;

/// The runtime, re-exported for `pass/crate-and-client-options.rs`, which
/// names it by this path with `crate = "..."`.
pub use ::rpc;

use ::std::{convert::TryFrom, string::String, sync::Mutex, vec::Vec};

/// Keeps the lines it is sent.
#[derive(Debug, Default)]
pub struct Notes {
    lines: Mutex<Vec<String>>,
}

/// Notes kept on the server.
#[::rpc::router]
impl Notes {
    /// Stores a line and returns how many are kept.
    #[::rpc::call]
    async fn add(&self, line: String) -> u64 {
        let mut lines = self
            .lines
            .lock()
            .unwrap_or_else(::std::sync::PoisonError::into_inner);
        lines.push(line);
        lines.len() as u64
    }

    /// The line at `index`, or a message saying there is none.
    #[::rpc::call(name = "notes.get", timeout = "1s")]
    async fn get(&self, index: u64) -> ::std::result::Result<String, String> {
        let lines = self
            .lines
            .lock()
            .unwrap_or_else(::std::sync::PoisonError::into_inner);
        let found = usize::try_from(index)
            .ok()
            .and_then(|index| lines.get(index).cloned());
        found.ok_or_else(|| ::std::format!("no line {index}"))
    }

    /// Forgets every line; says who asked in the server's log.
    #[::rpc::cast]
    async fn clear(&self, session: &::rpc::Session) {
        let _ = session.id();
        self.lines
            .lock()
            .unwrap_or_else(::std::sync::PoisonError::into_inner)
            .clear();
    }
}
