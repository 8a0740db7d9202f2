//! `rpc`, this library: a hand-written [`Router`] on each side (the
//! documented public API; `#[rpc::router]` writes the same code).

use std::{net::SocketAddr, sync::Arc};

use rpc::{
    Audience, Client, ErrorCode, HandlerError, HandlerFuture, MethodInfo, MethodKind, ParamInfo,
    Recording, Reply, Request, Router, RouterInfo, Server, ServerConfig, Session, SessionConfig,
};

use super::{BenchClient, Probe, Running, ServeConfig, TICK};
use crate::error::BenchError;

/// Calls one connection runs at once on the server. Above the 256 of the
/// pipelined workload so that no call meets `busy` when a reply overtakes
/// its handler's end; the check costs the same at any limit.
const MAX_IN_FLIGHT: usize = 1024;

static ADD_PARAMS: [ParamInfo; 2] = [ParamInfo::new("a", "i64"), ParamInfo::new("b", "i64")];
static ECHO_PARAMS: [ParamInfo; 1] = [ParamInfo::new("text", "String")];
static BROADCAST_PARAMS: [ParamInfo; 1] = [ParamInfo::new("round", "u64")];
static METHODS: [MethodInfo; 4] = [
    MethodInfo::new(
        "add",
        MethodKind::Call,
        &ADD_PARAMS,
        "i64",
        "Adds two numbers.",
        None,
    ),
    MethodInfo::new(
        "echo",
        MethodKind::Call,
        &ECHO_PARAMS,
        "String",
        "Returns its argument.",
        None,
    ),
    MethodInfo::new(
        "subscribe",
        MethodKind::Call,
        &[],
        "()",
        "Receive broadcasts.",
        None,
    ),
    MethodInfo::new(
        "broadcast",
        MethodKind::Call,
        &BROADCAST_PARAMS,
        "u64",
        "Notifies every subscriber; answers how many.",
        None,
    ),
];
static BENCH: RouterInfo = RouterInfo::new("Bench", "The benchmark's server methods.", &METHODS);

static TICK_PARAMS: [ParamInfo; 1] = [ParamInfo::new("round", "u64")];
static TICK_METHODS: [MethodInfo; 1] = [MethodInfo::new(
    TICK,
    MethodKind::Cast,
    &TICK_PARAMS,
    "()",
    "A broadcast arrived.",
    None,
)];
static TICKS: RouterInfo = RouterInfo::new("Ticks", "Client side of the fan-out.", &TICK_METHODS);

/// Where the server's `add` and `echo` handlers start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handlers {
    /// On the reader: they answer at their first poll.
    Inline,
    /// On the session's handler pool, like any method not marked inline.
    Pool,
}

/// The server's router: the four benchmark methods.
#[derive(Debug)]
struct Bench {
    handlers: Handlers,
}

/// The tag subscribers carry; the broadcast goes to every session with it.
const SUBSCRIBED: (&str, &str) = ("fanout", "subscribed");

impl Bench {
    /// `add` (0) or `echo` (1), which answer without waiting.
    fn answer_now(method: usize, request: &Request) -> Result<Reply, HandlerError> {
        if method == 0 {
            let (a, b): (i64, i64) = request.args()?;
            request.reply(&(a + b))
        } else {
            let (text,): (String,) = request.args()?;
            request.reply(&text)
        }
    }

    /// One notification to every subscriber, encoded once, through the
    /// session registry.
    fn broadcast(session: &Session, round: u64) -> Result<u64, HandlerError> {
        let registry = session
            .registry()
            .ok_or_else(|| HandlerError::new(ErrorCode::INTERNAL, "no registry on this side"))?;
        let report = registry
            .broadcast(Audience::Tag(SUBSCRIBED.0, SUBSCRIBED.1), TICK, &round)
            .map_err(|err| HandlerError::new(ErrorCode::INTERNAL, err.to_string()))?;
        Ok(report.reached as u64)
    }
}

impl Router for Bench {
    fn info(&self) -> &'static RouterInfo {
        &BENCH
    }

    fn runs_inline(&self, method: usize) -> bool {
        // `add` and `echo`, which never wait.
        self.handlers == Handlers::Inline && method <= 1
    }

    // What `#[rpc::call(inline)]` on a plain `fn` generates: the answer at
    // once, without a future.
    fn dispatch_now(
        &self,
        method: usize,
        request: Request,
    ) -> Result<Result<Reply, HandlerError>, Request> {
        match method {
            0 | 1 => Ok(Bench::answer_now(method, &request)),
            _ => Err(request),
        }
    }

    fn dispatch(self: Arc<Self>, method: usize, request: Request) -> HandlerFuture {
        match method {
            0 | 1 => Box::pin(async move { Bench::answer_now(method, &request) }),
            2 => Box::pin(async move {
                request.session().join(SUBSCRIBED.0, SUBSCRIBED.1)?;
                request.reply(&())
            }),
            3 => Box::pin(async move {
                let (round,): (u64,) = request.args()?;
                let sent = Bench::broadcast(request.session(), round)?;
                request.reply(&sent)
            }),
            _ => Box::pin(async move {
                Err(HandlerError::new(
                    ErrorCode::UNKNOWN_METHOD,
                    "no such method",
                ))
            }),
        }
    }
}

/// The client's router: records `tick` notifications in a probe.
struct Ticks {
    probe: Arc<Probe>,
}

impl Router for Ticks {
    fn info(&self) -> &'static RouterInfo {
        &TICKS
    }

    fn runs_inline(&self, _method: usize) -> bool {
        // Recording a tick never waits.
        true
    }

    fn dispatch(self: Arc<Self>, _method: usize, request: Request) -> HandlerFuture {
        Box::pin(async move {
            let round: u64 = request.args()?;
            self.probe.record(round);
            request.reply(&())
        })
    }
}

/// Starts the `rpc` server; it runs until the returned handle is dropped.
///
/// # Errors
///
/// When the server cannot bind.
pub async fn serve(config: ServeConfig, handlers: Handlers) -> Result<Running, BenchError> {
    let config = ServerConfig::default()
        .max_connections(config.max_connections)
        .session(
            SessionConfig::default()
                .max_in_flight(MAX_IN_FLIGHT)
                .record(recording()),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut builder = Server::builder().config(config).mount(Bench { handlers });
    if let Some(cluster) = cluster()? {
        builder = builder.cluster(cluster);
    }
    let server = builder.serve(listener)?;
    if let Some(cluster) = server.registry().cluster() {
        cluster.wait_for(rpc::BusStatus::Connected).await;
    }
    Ok(Running::new(addr, server))
}

/// `RPC_BENCH_REDIS=<url>` and `RPC_BENCH_NODE=<name>` (the `cluster`
/// workload) make the server a node of a cluster on that Redis server.
fn cluster() -> Result<Option<rpc::Cluster>, BenchError> {
    let (Some(url), Some(node)) = (
        std::env::var_os("RPC_BENCH_REDIS"),
        std::env::var_os("RPC_BENCH_NODE"),
    ) else {
        return Ok(None);
    };
    let bus = rpc::RedisBus::new(&url.to_string_lossy())
        .map_err(|err| BenchError::Unexpected(format!("RPC_BENCH_REDIS: {err}")))?;
    Ok(Some(rpc::Cluster::new(node.to_string_lossy(), bus)))
}

/// `RPC_BENCH_RECORD=<dir>` records every session of the server into
/// `dir`, with no file cap so that the whole run is recorded: how
/// docs/recording.md measures what recording costs.
fn recording() -> Option<Recording> {
    std::env::var_os("RPC_BENCH_RECORD").map(|dir| Recording::new(dir).max_file_bytes(u64::MAX))
}

/// An `rpc` client connection.
#[derive(Debug)]
pub struct RpcClient {
    client: Client,
}

impl BenchClient for RpcClient {
    async fn connect(addr: SocketAddr, probe: Option<Arc<Probe>>) -> Result<Self, BenchError> {
        let mut builder = Client::builder();
        if let Some(probe) = probe {
            builder = builder.mount(Ticks { probe });
        }
        let client = builder.connect(&format!("ws://{addr}")).await?;
        Ok(Self { client })
    }

    async fn add(&self, a: i64, b: i64) -> Result<i64, BenchError> {
        Ok(self.client.peer().call("add", &(a, b)).await?)
    }

    async fn echo(&self, text: &str) -> Result<String, BenchError> {
        Ok(self.client.peer().call("echo", &(text,)).await?)
    }

    async fn subscribe(&self) -> Result<(), BenchError> {
        Ok(self.client.peer().call("subscribe", &()).await?)
    }

    async fn broadcast(&self, round: u64) -> Result<u64, BenchError> {
        Ok(self.client.peer().call("broadcast", &(round,)).await?)
    }
}
