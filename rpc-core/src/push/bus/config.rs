//! [`Cluster`]: what makes a server one node of several.

use std::{fmt, sync::Arc, time::Duration};

use super::Bus;
use crate::{client::ReconnectPolicy, config::ConfigError};

/// Makes a server one node of several: its name, the [`Bus`] it reaches
/// the others through, and the bus's limits. Give it to
/// [`ServerBuilder::cluster`](crate::ServerBuilder::cluster).
///
/// ```no_run
/// # extern crate rpc_core as rpc;
/// # #[cfg(feature = "redis")]
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use rpc::{Cluster, RedisBus, Server};
///
/// let bus = RedisBus::new("redis://127.0.0.1:6379")?;
/// let server = Server::builder()
///     .cluster(Cluster::new("node-1", bus).presence_ttl(Duration::from_secs(10)))
///     .bind("0.0.0.0:9000")
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Cluster {
    pub(super) node: String,
    pub(super) bus: Arc<dyn Bus>,
    pub(super) publish_queue: usize,
    pub(super) presence_ttl: Duration,
    pub(super) reconnect: ReconnectPolicy,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("node", &self.node)
            .field("bus", &self.bus)
            .field("publish_queue", &self.publish_queue)
            .field("presence_ttl", &self.presence_ttl)
            .field("reconnect", &self.reconnect)
            .finish()
    }
}

impl Cluster {
    /// The node `node` (unique among the nodes sharing the bus: it names
    /// the node's channel and its presence) on `bus`.
    pub fn new(node: impl Into<String>, bus: impl Bus) -> Self {
        Self {
            node: node.into(),
            bus: Arc::new(bus),
            publish_queue: 4096,
            presence_ttl: Duration::from_secs(15),
            reconnect: ReconnectPolicy::exponential(Duration::from_millis(50))
                .max_delay(Duration::from_secs(5)),
        }
    }

    /// Pushes waiting to be published (default 4096). A broadcast or push
    /// for other nodes that finds it full is not queued: it goes to the
    /// dead-letter queue with
    /// [`DeadLetterReason::BusFull`](crate::DeadLetterReason::BusFull) and
    /// its report says [`BusDelivery::Full`](crate::BusDelivery::Full).
    pub fn publish_queue(mut self, pushes: usize) -> Self {
        self.publish_queue = pushes;
        self
    }

    /// How long the node's presence lasts in the broker unless refreshed
    /// (default 15 s; at least 1 s). The node refreshes it every third of
    /// that, so a node that crashes disappears from presence within `ttl`.
    pub fn presence_ttl(mut self, ttl: Duration) -> Self {
        self.presence_ttl = ttl;
        self
    }

    /// The delays between attempts to reach the broker (default
    /// exponential from 50 ms, at most 5 s, with jitter). The node never
    /// gives up: the policy's `max_attempts` is not used.
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    /// The node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        crate::config::require(!self.node.is_empty(), "cluster.node", "must not be empty")?;
        crate::config::require(
            self.publish_queue > 0,
            "cluster.publish_queue",
            "must be at least 1",
        )?;
        crate::config::require(
            self.presence_ttl >= Duration::from_secs(1),
            "cluster.presence_ttl",
            "must be at least 1 s",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::bus::{BusFuture, BusLink, BusMessages};

    #[derive(Debug)]
    struct NoBus;

    impl Bus for NoBus {
        fn connect<'a>(
            &'a self,
            _channels: &'a [String],
        ) -> BusFuture<'a, (Arc<dyn BusLink>, BusMessages)> {
            Box::pin(async { Err(crate::BusError::Unavailable) })
        }
    }

    #[test]
    fn limits_are_checked_by_name() {
        assert!(Cluster::new("a", NoBus).validate().is_ok());
        let err = Cluster::new("", NoBus).validate().unwrap_err();
        assert_eq!(err.field(), "cluster.node");
        let err = Cluster::new("a", NoBus)
            .publish_queue(0)
            .validate()
            .unwrap_err();
        assert_eq!(err.field(), "cluster.publish_queue");
        let err = Cluster::new("a", NoBus)
            .presence_ttl(Duration::from_millis(10))
            .validate()
            .unwrap_err();
        assert_eq!(err.field(), "cluster.presence_ttl");
    }
}
