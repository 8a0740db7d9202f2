//! Runtime of the [`rpc`](https://docs.rs/rpc) crate: wire protocol, codec,
//! duplex sessions, server and client over WebSocket.
//!
//! Most users depend on `rpc`, which re-exports this crate and adds the
//! `#[rpc::router]` macros. Everything the macros generate calls the public
//! API here, so a router can also be written by hand: see [`Router`].
//!
//! # Layout
//!
//! - [`protocol`]: frame types, handshake, error and close codes (plain data).
//! - [`codec`]: frame <-> bytes with limits.
//! - `session`: the connection actor; [`Session`] and [`Peer`] are its handles.
//! - `router`: the [`Router`] trait, [`Request`], [`HandlerError`].
//! - [`metadata`]: reflection types that `discover()` returns.
//! - [`schema`]: type schemas of method parameters and answers, the
//!   [`Schema`] trait that describes a type, and schema hashes.
//! - [`metrics`]: names of the counters and histograms recorded through the
//!   `metrics` facade (the `metrics` feature), and the handles kept for them.
//! - `server`, `client`: accepting and opening connections; the
//!   [`ReconnectingClient`] and the [`Pool`], with their latency statistics
//!   and circuit breakers; [`Caller`], what typed stubs call through.
//! - [`middleware`]: layers around the handlers a side serves.
//! - `recording`: sessions recorded as JSON Lines
//!   ([`SessionConfig::record`]), replayed by [`testing::replay`].
//! - `outbound`: what waits to be written to a peer: priority classes, the
//!   byte budgets, the refusal lane, large messages in pieces.
//! - `push`: push handles, the session registry (indexes, events), broadcast,
//!   dead letters; `push::bus`, the registry across nodes through a broker
//!   ([`Bus`], [`Cluster`], `RedisBus` with the `redis` feature).
//! - `stream`: streams with credit flow control; [`Incoming`], [`BidiStream`].
//! - [`stub`]: helpers for the client stubs `#[rpc::router]` generates.
//! - `config`, `error`: configuration and one error enum per concern.
//! - `transport`: the seam under the session (binary messages, pings, close)
//!   over tokio-tungstenite or in memory; [`testing`]: the test kit (an
//!   in-memory pair, a server on a free port, scripted fake peers, a
//!   harness that runs handlers without a connection).
//! - `auth`: the authentication hook's view of the upgrade request.
//! - `tls` (the `tls` feature): `ClientTls` and `ServerTls`, rustls
//!   under the WebSocket on either side.
//! - `server::upgrader` (the `hyper` and `axum` features): `Upgrader`, the
//!   endpoint inside an HTTP server of yours, sharing its port.
//! - `recording`: session recordings (a tap at the transport seam, a
//!   writer task, JSON Lines) and their replay, in [`testing`].
//! - `identity`, `rate`, `text`, `log_limit`: small pieces below session and
//!   server: who the peer is, token-bucket rate limits, peer text clipped for
//!   logs, WARN lines bounded per window.

#[doc(hidden)]
pub mod __bench;
#[doc(hidden)]
pub mod __fuzz;
mod auth;
mod beside;
mod caller;
mod client;
pub mod codec;
mod config;
mod context;
mod deadline;
mod error;
mod identity;
mod log_limit;
pub mod metadata;
pub mod metrics;
pub mod middleware;
#[cfg(feature = "opentelemetry")]
mod otel;
mod outbound;
pub mod protocol;
mod push;
mod rate;
mod recording;
mod router;
pub mod schema;
mod server;
mod session;
mod signal;
mod stream;
pub mod stub;
pub mod testing;
mod text;
#[cfg(feature = "tls")]
mod tls;
mod transport;
mod waiting;

pub use auth::{Refusal, UpgradeRequest};
pub use caller::Caller;
pub use client::{
    BreakerConfig, BreakerPermit, BreakerState, Breakers, CircuitBreaker, Client, ClientBuilder,
    ConnectionEvent, ConnectionEvents, ConnectionState, Delivery, LatencySnapshot, LatencyStats,
    Pool, ReconnectPolicy, ReconnectingBuilder, ReconnectingClient, Subscription,
    WhileDisconnected,
};
pub use codec::CodecError;
pub use config::{ClientConfig, ConfigError, ServerConfig, SessionConfig};
pub use context::{Claims, Extension, FromRequest, Headers};
pub use error::{
    CloseReason, ConnectError, Error, HandshakeError, MountError, RemoteError, ServeError,
    TransportError,
};
/// The `http` crate, whose types [`UpgradeRequest::headers`] and the
/// authentication hook use: name them as `rpc::http::HeaderMap` without a
/// dependency of your own that must match this one's version.
pub use http;
pub use identity::Identity;
pub use metadata::{MethodInfo, MethodKind, ParamInfo, RegisteredRouter, RouterInfo, routers};
pub use protocol::ErrorCode;
#[cfg(feature = "redis")]
pub use push::RedisBus;
pub use push::{
    Audience, BroadcastReport, BrokerError, Bus, BusDelivery, BusError, BusFuture, BusLink,
    BusMessage, BusMessages, BusStatus, Cluster, ClusterHandle, DeadLetter, DeadLetterReason,
    EventsError, PresenceEntry, PresenceEvent, PresenceEvents, Priority, PushError, PushHandle,
    PushOptions, PushPolicy, Registry, RegistryEvent, RegistryEvents, RegistryStats, SessionHandle,
};
pub use rate::RateLimit;
pub use recording::{Direction, RecordedSide, Recording};
pub use router::{HandlerError, HandlerFuture, Reply, Request, Router};
pub use schema::Schema;
#[cfg(feature = "hyper")]
pub use server::Upgrader;
pub use server::{Server, ServerBuilder};
pub use session::{CallOptions, Peer, Session, TagError};
pub use stream::{BidiStream, Incoming, RawIncoming, StreamError, StreamOptions};
#[cfg(feature = "tls")]
pub use tls::{ClientTls, ServerTls, TlsError};
