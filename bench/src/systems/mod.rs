//! The five systems under test behind one client trait, and their servers.
//!
//! Every system serves the same four methods with the same semantics:
//!
//! | method | arguments | answer |
//! | --- | --- | --- |
//! | `add` | `(i64, i64)` | their sum, `i64` |
//! | `echo` | `(String,)` | the same string |
//! | `subscribe` | `()` | `()`; the connection now receives `tick` notifications |
//! | `broadcast` | `(u64,)` | sends `tick(round)` to every subscribed connection, answers how many |
//!
//! Each server answers calls on the connection they arrived on; `rpc` (and
//! `rpc-pool`, the same without inline handlers) and `jsonrpsee` with their
//! own machinery, the two `raw` loops with
//! hand-written code: `raw` the best such loop (it batches), `raw-naive` the
//! least code that works (it flushes every message).

pub mod jsonrpsee;
mod probe;
pub mod raw;
pub mod rpc;

pub use probe::Probe;

use std::{any::Any, fmt, net::SocketAddr, sync::Arc};

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;

use crate::error::BenchError;

/// Topic (notification method) of the fan-out workload.
pub const TICK: &str = "tick";

/// Handshakes in flight at once while opening many connections: well under
/// the listen backlog (1024), so no SYN is dropped and retried.
const CONNECT_CONCURRENCY: usize = 64;

/// A system under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum System {
    /// This library, with `add` and `echo` marked inline
    /// (`Router::runs_inline`), as handlers that answer at once
    /// should be.
    Rpc,
    /// This library with every handler on the session's handler pool, the
    /// default for methods not marked inline.
    RpcPool,
    /// Hand-written tokio-tungstenite with the same postcard frames, writers
    /// that flush once per batch: the baseline ratios are taken against.
    Raw,
    /// The same loop with a writer that flushes every message and
    /// tungstenite's default 128 KiB read buffer.
    RawNaive,
    /// jsonrpsee's WebSocket server and client.
    Jsonrpsee,
}

impl System {
    /// Every system, in report order.
    pub const ALL: [System; 5] = [
        System::Rpc,
        System::RpcPool,
        System::Raw,
        System::RawNaive,
        System::Jsonrpsee,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            System::Rpc => "rpc",
            System::RpcPool => "rpc-pool",
            System::Raw => "raw",
            System::RawNaive => "raw-naive",
            System::Jsonrpsee => "jsonrpsee",
        }
    }

    /// The system with this name.
    pub fn parse(name: &str) -> Option<System> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// How a server is sized for a workload.
#[derive(Debug, Clone, Copy)]
pub struct ServeConfig {
    /// Connections the server must accept at once.
    pub max_connections: usize,
}

/// The client side of one connection to a system's server: the calls every
/// workload makes. Implementations are cheap to share behind an `Arc`.
pub trait BenchClient: Sized + Send + Sync + 'static {
    /// Connects to the server at `addr`. With a `probe`, the connection can
    /// subscribe, and every `tick` it receives is recorded there.
    fn connect(
        addr: SocketAddr,
        probe: Option<Arc<Probe>>,
    ) -> impl Future<Output = Result<Self, BenchError>> + Send;

    /// Calls `add(a, b)`.
    fn add(&self, a: i64, b: i64) -> impl Future<Output = Result<i64, BenchError>> + Send;

    /// Calls `echo(text)`.
    fn echo(&self, text: &str) -> impl Future<Output = Result<String, BenchError>> + Send;

    /// Calls `subscribe()`: from now on the server's broadcasts reach this
    /// connection's probe.
    fn subscribe(&self) -> impl Future<Output = Result<(), BenchError>> + Send;

    /// Calls `broadcast(round)`; answers how many connections were notified.
    fn broadcast(&self, round: u64) -> impl Future<Output = Result<u64, BenchError>> + Send;
}

/// Runs `$body` with `$client` naming the client type of `$system`.
#[macro_export]
macro_rules! with_client {
    ($system:expr, $client:ident => $body:expr) => {
        match $system {
            $crate::systems::System::Rpc | $crate::systems::System::RpcPool => {
                type $client = $crate::systems::rpc::RpcClient;
                $body
            }
            $crate::systems::System::Raw => {
                type $client = $crate::systems::raw::RawClient;
                $body
            }
            $crate::systems::System::RawNaive => {
                type $client = $crate::systems::raw::RawNaiveClient;
                $body
            }
            $crate::systems::System::Jsonrpsee => {
                type $client = $crate::systems::jsonrpsee::JsonrpseeClient;
                $body
            }
        }
    };
}

/// A server running in this process; it stops when dropped.
pub struct Running {
    addr: SocketAddr,
    _server: Box<dyn Any + Send + Sync>,
}

impl fmt::Debug for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Running {
    fn new(addr: SocketAddr, server: impl Any + Send + Sync) -> Self {
        Self {
            addr,
            _server: Box::new(server),
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Starts `system`'s server on 127.0.0.1, port 0, in this process.
///
/// # Errors
///
/// When the server cannot bind or start.
pub async fn serve(system: System, config: ServeConfig) -> Result<Running, BenchError> {
    match system {
        System::Rpc => rpc::serve(config, rpc::Handlers::Inline).await,
        System::RpcPool => rpc::serve(config, rpc::Handlers::Pool).await,
        System::Raw => raw::serve::<raw::Batching>(config).await,
        System::RawNaive => raw::serve::<raw::Naive>(config).await,
        System::Jsonrpsee => jsonrpsee::serve(config).await,
    }
}

/// Opens `count` connections to `addr`, a bounded number at a time, and
/// makes one `add` call on each so that the server side is fully set up.
/// With `subscribe`, each connection also subscribes to `probe`'s ticks.
///
/// # Errors
///
/// The first connection or call that fails.
pub async fn connect_many<C: BenchClient>(
    addr: SocketAddr,
    count: usize,
    probe: Option<&Arc<Probe>>,
    subscribe: bool,
) -> Result<Vec<Arc<C>>, BenchError> {
    stream::iter(0..count)
        .map(|i| async move {
            let client = C::connect(addr, probe.cloned()).await?;
            let i = i64::try_from(i).unwrap_or(i64::MAX);
            let sum = client.add(i, 1).await?;
            if sum != i + 1 {
                return Err(BenchError::Unexpected(format!(
                    "add({i}, 1) answered {sum}"
                )));
            }
            if subscribe {
                client.subscribe().await?;
            }
            Ok(Arc::new(client))
        })
        .buffer_unordered(CONNECT_CONCURRENCY)
        .try_collect()
        .await
}
