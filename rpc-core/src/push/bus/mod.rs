//! The registry across processes. Sessions of one application spread over
//! several nodes (processes behind a load balancer); a broadcast by room
//! or identity, or a push to a session of another node, travels through an
//! existing broker that every node connects to. The [`Bus`] trait is the
//! seam: a connection that publishes to named channels, delivers what
//! others publish on the channels it subscribed to, and keeps each node's
//! presence with a time to live. [`RedisBus`] (feature `redis`) implements
//! it over Redis pub/sub.
//!
//! A server without a [`Cluster`] has no node, and its registry pays one
//! `None` check per broadcast. Layout: `envelope` (what crosses the bus),
//! `node` (the state a registry shares with its bus task, and the public
//! handle), `driver` (that task: connect with backoff, publish, deliver,
//! refresh presence), `presence` (entries, events, diffs).

mod config;
mod driver;
mod envelope;
mod node;
mod presence;
#[cfg(feature = "redis")]
mod redis;

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use bytes::Bytes;
use futures_util::Stream;

#[cfg(feature = "redis")]
pub use self::redis::RedisBus;
pub use config::Cluster;
pub(crate) use driver::spawn;
pub(crate) use envelope::Target;
pub(crate) use node::{ALL, Node, node_channel};
pub use node::{BusStatus, ClusterHandle};
pub use presence::{PresenceEntry, PresenceEvent, PresenceEvents};

/// What a [`Bus`] or [`BusLink`] call returns: a boxed future, so that the
/// traits are object safe and a server holds any bus as `Arc<dyn Bus>`.
pub type BusFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BusError>> + Send + 'a>>;

/// The messages of the channels a connection subscribed to, in the order
/// the broker delivered them. It ends when the connection is lost; the
/// node then connects again.
pub type BusMessages = Pin<Box<dyn Stream<Item = BusMessage> + Send>>;

/// One message received from the bus.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BusMessage {
    /// The channel, as the node named it in [`Bus::connect`].
    pub channel: String,
    /// What was published.
    pub payload: Bytes,
}

impl BusMessage {
    /// A message received on `channel`.
    pub fn new(channel: impl Into<String>, payload: Bytes) -> Self {
        Self {
            channel: channel.into(),
            payload,
        }
    }
}

/// A broker the registry reaches other nodes through.
///
/// Channel names are the node's (`all`, `node.<name>`, `presence`); an
/// implementation puts them in its own namespace so that several
/// applications share one broker. It connects; reconnecting, backoff and
/// resubscribing are the node's job, so an implementation stays small.
pub trait Bus: Send + Sync + fmt::Debug + 'static {
    /// Opens a connection subscribed to `channels`: a link to publish and
    /// keep presence through, and the stream of messages received. The
    /// node calls it again, after a backoff, whenever the stream ends or
    /// the link fails.
    fn connect<'a>(
        &'a self,
        channels: &'a [String],
    ) -> BusFuture<'a, (Arc<dyn BusLink>, BusMessages)>;
}

/// One connection to the broker, from [`Bus::connect`]. Every call is
/// bounded in time by the implementation: a broker that stops answering
/// makes calls fail, never hang.
pub trait BusLink: Send + Sync + fmt::Debug {
    /// Publishes `payload` on `channel`, at most once.
    fn publish<'a>(&'a self, channel: &'a str, payload: Bytes) -> BusFuture<'a, ()>;

    /// Replaces the presence of `node` with `sessions`, kept for `ttl`
    /// unless stored again, and removes the nodes whose presence has
    /// expired: their names are returned (each expired node is returned by
    /// one caller only).
    fn store_presence<'a>(
        &'a self,
        node: &'a str,
        sessions: &'a [(u64, String)],
        ttl: Duration,
    ) -> BusFuture<'a, Vec<String>>;

    /// Removes the presence of `node` (a node that leaves cleanly).
    fn remove_presence<'a>(&'a self, node: &'a str) -> BusFuture<'a, ()>;

    /// The presence of every node whose time to live has not run out.
    fn load_presence(&self) -> BusFuture<'_, Vec<PresenceEntry>>;
}

/// Why a bus operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The node is not connected to the broker now (it is reconnecting).
    #[error("the bus is not connected")]
    Unavailable,
    /// The broker refused a command or the connection to it failed.
    #[error("the broker failed")]
    Broker(#[source] BrokerError),
    /// The connection to the broker ended (the subscription stream ended).
    #[error("the connection to the broker was lost")]
    Lost,
    /// The broker did not answer in time.
    #[error("the broker did not answer within {0:?}")]
    Timeout(Duration),
    /// The broker held data this library did not write (another
    /// application in the same namespace?).
    #[error("malformed presence data in the broker")]
    Malformed,
}

impl BusError {
    /// Whether the bus was not connected, so that nothing was attempted.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable)
    }
}

/// An error of a broker's client library, kept opaque so that its type is
/// not part of this crate's API.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BrokerError(Box<dyn std::error::Error + Send + Sync>);

impl BrokerError {
    /// Wraps a client library's error.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }
}

/// What a broadcast did about other nodes, in its
/// [`BroadcastReport`](crate::BroadcastReport).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BusDelivery {
    /// The server has no bus: the broadcast was local only.
    #[default]
    Local,
    /// The push was handed to the bus, for the other nodes: encoded once,
    /// queued for publishing. Delivery there is at most once.
    Handed,
    /// The bus is not connected; the push went to the dead-letter queue
    /// with [`DeadLetterReason::BusUnavailable`](crate::DeadLetterReason::BusUnavailable).
    Unavailable,
    /// The publish queue was full; the push went to the dead-letter queue
    /// with [`DeadLetterReason::BusFull`](crate::DeadLetterReason::BusFull).
    Full,
}
