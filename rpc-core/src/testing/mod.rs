//! The test kit: what the library's own tests use, public so that
//! applications test their routers the same way.
//!
//! - [`pair`]: a server's routers and a client's connected over an
//!   in-memory transport, with the whole protocol (the handshake, limits,
//!   fragments, heartbeats, close codes) and no socket, so a test can pause
//!   tokio's clock and let timeouts pass in an instant, deterministically.
//! - [`TestServer`]: a real server on a free port of 127.0.0.1, with its
//!   URL, a client for it, and a graceful shutdown.
//! - [`FakePeer`] and [`FakeServer`]: a scripted peer that speaks the wire
//!   protocol by hand, for testing a real server or a real client against
//!   what a well-behaved peer never sends: it asserts what it receives and
//!   injects frames, malformed messages, raw socket bytes and disconnects.
//! - [`RouterHarness`]: runs a router's handlers directly, without a
//!   connection, as a unit test would.
//!
//! The fakes' `expect_*` methods are assertions: on a timeout or an
//! unexpected message they panic with a message naming what was expected
//! and what arrived, so that a failing test says why.
//!
//! ```
//! # extern crate rpc_core as rpc;
//! # use rpc::{ClientBuilder, Client, Server, testing};
//! # async fn example(server: rpc::ServerBuilder) -> Result<(), testing::PairError> {
//! let pair = testing::pair(server, Client::builder()).await?;
//! let methods = pair.client.peer().discover().await.expect("discover");
//! # let _ = methods;
//! # Ok(())
//! # }
//! ```

mod fake_server;
mod harness;
mod pair;
mod peer;
mod server;

pub use fake_server::FakeServer;
pub use harness::RouterHarness;
pub use pair::{Pair, PairError, pair};
pub use peer::{FakePeer, Received};
pub use server::TestServer;

/// Replaying a session's recording ([`SessionConfig::record`](crate::SessionConfig::record)).
pub use crate::recording::{
    Answer, JsonError, Recorded, RecordedFrame, ReplayError, ReplayReport, ReplayedCall, replay,
};

use std::time::Duration;

/// How long the fakes wait for what a test expects before they fail it,
/// unless told otherwise ([`FakePeer::patience`]): long enough for a
/// loaded machine, short enough that a hang fails rather than stalls.
pub const PATIENCE: Duration = Duration::from_secs(10);
