//! `jsonrpsee`: its WebSocket server with an `RpcModule`, and its WebSocket
//! client; the fan-out uses its subscriptions.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use jsonrpsee::{
    RpcModule, SubscriptionSink,
    core::{
        client::{ClientT, SubscriptionClientT},
        params::ArrayParams,
    },
    server::{Server, ServerConfig},
    types::ErrorObjectOwned,
};
use jsonrpsee_ws_client::{WsClient, WsClientBuilder};

use super::{BenchClient, Probe, Running, ServeConfig, TICK};
use crate::error::BenchError;

/// Requests one client connection may have in flight; above the 256 of the
/// pipelined workload (the default is exactly 256).
const MAX_CONCURRENT_REQUESTS: usize = 1024;

/// Accepted subscriptions. A `SubscriptionSink` unsubscribes when a clone of
/// it drops, so each is kept behind an `Arc` and only the `Arc` is cloned.
#[derive(Default)]
struct Subscribers(Mutex<Vec<Arc<SubscriptionSink>>>);

/// Starts the jsonrpsee server; it runs until the returned handle is dropped.
///
/// # Errors
///
/// When the server cannot bind or a method cannot be registered.
pub async fn serve(config: ServeConfig) -> Result<Running, BenchError> {
    let max_connections = u32::try_from(config.max_connections).unwrap_or(u32::MAX);
    let server = Server::builder()
        .set_config(
            ServerConfig::builder()
                .max_connections(max_connections)
                .build(),
        )
        .build("127.0.0.1:0")
        .await?;
    let addr = server.local_addr()?;

    let mut module = RpcModule::new(Subscribers::default());
    module.register_method("add", |params, _, _| {
        let (a, b): (i64, i64) = params.parse()?;
        Ok::<_, ErrorObjectOwned>(a + b)
    })?;
    module.register_method("echo", |params, _, _| {
        let (text,): (String,) = params.parse()?;
        Ok::<_, ErrorObjectOwned>(text)
    })?;
    module.register_subscription(
        "subscribe",
        TICK,
        "unsubscribe",
        |_, pending, subs, _| async move {
            if let Ok(sink) = pending.accept().await {
                subs.0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Arc::new(sink));
            }
        },
    )?;
    module.register_async_method("broadcast", |params, subs, _| async move {
        let (round,): (u64,) = params.parse()?;
        let message = serde_json::value::to_raw_value(&round)
            .map_err(|err| ErrorObjectOwned::owned(-32603, err.to_string(), None::<()>))?;
        let sinks = subs
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut sent = 0u64;
        for sink in &sinks {
            if sink.send(message.clone()).await.is_ok() {
                sent += 1;
            }
        }
        Ok::<_, ErrorObjectOwned>(sent)
    })?;
    Ok(Running::new(addr, server.start(module)))
}

/// A jsonrpsee client connection.
#[derive(Debug)]
pub struct JsonrpseeClient {
    client: WsClient,
    probe: Option<Arc<Probe>>,
}

impl BenchClient for JsonrpseeClient {
    async fn connect(addr: SocketAddr, probe: Option<Arc<Probe>>) -> Result<Self, BenchError> {
        let client = WsClientBuilder::default()
            .max_concurrent_requests(MAX_CONCURRENT_REQUESTS)
            .build(format!("ws://{addr}"))
            .await?;
        Ok(Self { client, probe })
    }

    async fn add(&self, a: i64, b: i64) -> Result<i64, BenchError> {
        Ok(self.client.request("add", (a, b)).await?)
    }

    async fn echo(&self, text: &str) -> Result<String, BenchError> {
        Ok(self.client.request("echo", (text,)).await?)
    }

    async fn subscribe(&self) -> Result<(), BenchError> {
        let mut ticks = self
            .client
            .subscribe::<u64, _>("subscribe", ArrayParams::new(), "unsubscribe")
            .await?;
        let probe = self.probe.clone();
        tokio::spawn(async move {
            while let Some(Ok(round)) = ticks.next().await {
                if let Some(probe) = &probe {
                    probe.record(round);
                }
            }
        });
        Ok(())
    }

    async fn broadcast(&self, round: u64) -> Result<u64, BenchError> {
        Ok(self.client.request("broadcast", (round,)).await?)
    }
}
