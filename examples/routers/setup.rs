//! The `server` example's command line, and the server it describes.

use std::net::SocketAddr;

use metrics_exporter_prometheus::PrometheusBuilder;
use rpc::{Refusal, Server, ServerBuilder, ServerConfig, ServerTls};

use super::{Calculator, Echo, duplex::Duplex, rooms::Rooms, streams::Streams};

/// What the command line asks for.
#[derive(Debug)]
pub(crate) struct Options {
    /// Where to listen. Default: `127.0.0.1:9000`.
    pub(crate) addr: String,
    /// With `--token T`: the bearer token every connection must present.
    pub(crate) token: Option<String>,
    /// With `--max-connections N`: connections served at once.
    pub(crate) max_connections: usize,
    /// With `--tls-cert FILE --tls-key FILE`: the certificate chain and key
    /// the server presents, read from those PEM files.
    pub(crate) tls: Option<ServerTls>,
    /// With `--metrics ADDR`: where to serve the metrics, in Prometheus'
    /// text format, at `GET /metrics`.
    pub(crate) metrics: Option<SocketAddr>,
    /// With `--redis URL` (and `--node NAME`): the cluster this server is
    /// a node of, through that Redis server.
    pub(crate) cluster: Option<rpc::Cluster>,
}

/// Upper bounds, in seconds, of the latency histograms' buckets: 100 µs to
/// 10 s, so that Prometheus gets histograms it can aggregate across
/// servers rather than per-process summaries.
const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

impl Options {
    /// Parses `[ADDR] [--token T] [--max-connections N] [--tls-cert FILE
    /// --tls-key FILE] [--metrics ADDR] [--redis URL [--node NAME]]`, the
    /// arguments after the program's name, and reads the TLS files.
    pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut args = args.into_iter();
        let mut addr = None;
        let mut token = None;
        let mut max_connections = ServerConfig::default().max_connections;
        let (mut tls_cert, mut tls_key) = (None, None);
        let mut metrics = None;
        let (mut redis, mut node) = (None, None);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--token" => token = Some(args.next().ok_or("--token needs a value")?),
                "--max-connections" => {
                    let value = args.next().ok_or("--max-connections needs a value")?;
                    max_connections = value.parse().map_err(|_| {
                        format!("--max-connections takes a whole number, not `{value}`")
                    })?;
                }
                "--tls-cert" => tls_cert = Some(args.next().ok_or("--tls-cert needs a file")?),
                "--tls-key" => tls_key = Some(args.next().ok_or("--tls-key needs a file")?),
                "--metrics" => {
                    let value = args.next().ok_or("--metrics needs an address")?;
                    metrics = Some(value.parse().map_err(|_| {
                        format!("--metrics takes an address such as 127.0.0.1:9100, not `{value}`")
                    })?);
                }
                "--redis" => redis = Some(args.next().ok_or("--redis needs a URL")?),
                "--node" => node = Some(args.next().ok_or("--node needs a name")?),
                flag if flag.starts_with("--") => {
                    return Err(format!(
                        "unknown flag `{flag}`; the flags are --token, --max-connections, --tls-cert, --tls-key, --metrics, --redis and --node"
                    ));
                }
                _ if addr.is_none() => addr = Some(arg),
                _ => return Err(format!("unexpected argument `{arg}`")),
            }
        }
        let tls = match (tls_cert, tls_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => {
                Some(ServerTls::from_pem_files(cert, key).map_err(|err| {
                    let detail =
                        std::error::Error::source(&err).map(|source| format!(": {source}"));
                    format!("--tls-cert/--tls-key: {err}{}", detail.unwrap_or_default())
                })?)
            }
            _ => return Err("--tls-cert and --tls-key go together".to_owned()),
        };
        Ok(Self {
            addr: addr.unwrap_or_else(|| "127.0.0.1:9000".to_owned()),
            token,
            max_connections,
            tls,
            metrics,
            cluster: cluster(redis, node)?,
        })
    }

    /// With `--metrics ADDR`: installs the Prometheus exporter as the
    /// process's metrics recorder, serving `GET /metrics` on `ADDR` from a
    /// task of the current runtime. Call it before the server starts: the
    /// library keeps the handles it makes on first use. Without the flag,
    /// nothing.
    pub(crate) fn install_metrics(&self) -> Result<(), String> {
        let Some(addr) = self.metrics else {
            return Ok(());
        };
        PrometheusBuilder::new()
            .with_http_listener(addr)
            .set_buckets(&LATENCY_BUCKETS)
            .and_then(PrometheusBuilder::install)
            .map_err(|err| format!("--metrics {addr}: {err}"))
    }

    /// A server of every example router with these options: the connection
    /// limit, TLS with the certificate given and, with a token, a hook that
    /// refuses (HTTP 401) any upgrade without `Authorization: Bearer <token>`.
    pub(crate) fn builder(&self) -> ServerBuilder {
        let config = ServerConfig::default().max_connections(self.max_connections);
        let mut builder = Server::builder()
            .config(config)
            .mount(Calculator)
            .mount(Echo)
            .mount(Streams)
            .mount(Duplex)
            .mount(Rooms);
        if let Some(tls) = &self.tls {
            builder = builder.tls(tls.clone());
        }
        if let Some(cluster) = &self.cluster {
            builder = builder.cluster(cluster.clone());
        }
        let Some(token) = &self.token else {
            return builder;
        };
        let expected = format!("Bearer {token}");
        builder.authenticate(move |request| {
            if request.header("authorization") == Some(expected.as_str()) {
                Ok(None)
            } else {
                Err(Refusal::unauthorized(
                    "send `Authorization: Bearer <token>` with the server's token",
                ))
            }
        })
    }
}

/// The cluster `--redis URL` and `--node NAME` ask for (the node's name is
/// `node-<process id>` unless given; it must be unique on the bus).
#[cfg(feature = "redis")]
fn cluster(redis: Option<String>, node: Option<String>) -> Result<Option<rpc::Cluster>, String> {
    let Some(url) = redis else {
        return match node {
            Some(_) => Err("--node names a node of the cluster --redis gives".to_owned()),
            None => Ok(None),
        };
    };
    let bus = rpc::RedisBus::new(&url).map_err(|err| format!("--redis {url}: {err}"))?;
    let node = node.unwrap_or_else(|| format!("node-{}", std::process::id()));
    Ok(Some(rpc::Cluster::new(node, bus)))
}

/// Without the `redis` feature, `--redis` says how to get it.
#[cfg(not(feature = "redis"))]
fn cluster(redis: Option<String>, node: Option<String>) -> Result<Option<rpc::Cluster>, String> {
    match (redis, node) {
        (None, None) => Ok(None),
        _ => Err("--redis and --node need the `redis` feature: cargo run --example server --features redis -- ...".to_owned()),
    }
}
