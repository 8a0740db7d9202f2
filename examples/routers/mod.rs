//! The routers the example programs serve. Shared by `server` (which serves
//! them all for peers in other languages and load tests), `ping_pong` and
//! the end-to-end test of `server`.

pub(crate) mod duplex;
pub(crate) mod rooms;
pub(crate) mod setup;
pub(crate) mod streams;

use std::time::Duration;

use rpc::Session;
use serde::{Deserialize, Serialize};

/// Why a division failed; travels to the caller as a typed error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rpc::Schema)]
pub(crate) enum DivError {
    /// The divisor was zero.
    ByZero,
}

impl std::fmt::Display for DivError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("division by zero")
    }
}

/// Arithmetic.
pub(crate) struct Calculator;

/// Integer arithmetic over the wire.
#[rpc::router]
impl Calculator {
    // Inline, like `div`: it answers at once, so it runs right where the
    // request is read, with no hand-off to the handler pool.
    /// Adds two numbers.
    #[rpc::call(inline)]
    async fn add(&self, a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }

    /// Divides `a` by `b`.
    #[rpc::call(name = "math.div", inline)]
    async fn div(&self, a: i64, b: i64) -> Result<i64, DivError> {
        a.checked_div(b).ok_or(DivError::ByZero)
    }
}

/// Echoes and greetings.
pub(crate) struct Echo;

/// Says things back.
#[rpc::router]
impl Echo {
    /// Returns its argument.
    #[rpc::call]
    async fn echo(&self, text: String) -> String {
        text
    }

    /// Returns the payload unchanged: bytes in, bytes out (for load tests).
    #[rpc::call]
    async fn bytes(&self, payload: Vec<u8>) -> Vec<u8> {
        payload
    }

    /// Says who the caller is, as the server sees it.
    #[rpc::call]
    async fn whoami(&self, session: &Session) -> String {
        match session.remote_addr() {
            Some(addr) => format!("session {} from {addr}", session.id()),
            None => format!("session {}", session.id()),
        }
    }

    /// Waits `ms` milliseconds, then answers `ms`; its deadline is 100 ms,
    /// so a longer wait fails with a timeout error.
    #[rpc::call(timeout = "100ms")]
    async fn slow(&self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }

    /// Prints a line on the server; no answer.
    #[rpc::cast]
    async fn shout(&self, line: String) {
        println!("shout: {line}");
    }
}
