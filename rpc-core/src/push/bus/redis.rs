//! [`RedisBus`]: the bus over Redis. Pub/sub carries envelopes and
//! presence notices (one subscriber connection per node); a multiplexed
//! connection publishes and keeps presence: a hash of `session id ->
//! subject` per node with a time to live, and a sorted set of node names
//! scored by when their presence runs out, so that an expired node is
//! found and announced once.

use std::{
    collections::HashMap,
    fmt,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use futures_util::StreamExt;
use redis::{AsyncCommands, AsyncConnectionConfig, Client, aio::MultiplexedConnection};

use super::{Bus, BusError, BusFuture, BusLink, BusMessage, BusMessages, PresenceEntry};
use crate::push::BrokerError;

/// A [`Bus`] over a Redis server (the `redis` feature): what Socket.IO's
/// Redis adapter and Rails' `ActionCable` use. Every name it uses in Redis starts
/// with its namespace, so several applications share one server.
///
/// ```no_run
/// # extern crate rpc_core as rpc;
/// # fn run() -> Result<(), rpc::BusError> {
/// use std::time::Duration;
/// use rpc::{Cluster, RedisBus};
///
/// let bus = RedisBus::new("redis://127.0.0.1:6379")?
///     .namespace("chat")
///     .timeout(Duration::from_secs(1));
/// let cluster = Cluster::new("node-1", bus);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisBus {
    client: Client,
    namespace: String,
    timeout: Duration,
}

impl RedisBus {
    /// A bus through the Redis server at `url` (`redis://host:port/db`).
    /// Nothing is connected until the server starts.
    ///
    /// # Errors
    ///
    /// [`BusError::Broker`] when `url` is not a Redis URL.
    pub fn new(url: &str) -> Result<Self, BusError> {
        let client = Client::open(url).map_err(|err| BusError::Broker(BrokerError::new(err)))?;
        Ok(Self {
            client,
            namespace: "wsduplex".to_owned(),
            timeout: Duration::from_secs(2),
        })
    }

    /// The prefix of every channel and key (default `wsduplex`).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// How long connecting and each command may take (default 2 s): past
    /// it the call fails and the node reconnects, so a broker that stops
    /// answering is noticed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

fn broker(err: redis::RedisError) -> BusError {
    BusError::Broker(BrokerError::new(err))
}

impl Bus for RedisBus {
    fn connect<'a>(
        &'a self,
        channels: &'a [String],
    ) -> BusFuture<'a, (Arc<dyn BusLink>, BusMessages)> {
        Box::pin(async move {
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(self.timeout))
                .set_response_timeout(Some(self.timeout));
            let conn = self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .map_err(broker)?;
            let names: Vec<String> = channels
                .iter()
                .map(|channel| format!("{}:{channel}", self.namespace))
                .collect();
            let subscribe = async {
                let mut pubsub = self.client.get_async_pubsub().await?;
                pubsub.subscribe(&names).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            let pubsub = tokio::time::timeout(self.timeout, subscribe)
                .await
                .map_err(|_| BusError::Timeout(self.timeout))?
                .map_err(broker)?;
            let prefix = self.namespace.len() + 1;
            let messages = pubsub.into_on_message().map(move |message| {
                let channel = message.get_channel_name().get(prefix..).unwrap_or_default();
                BusMessage::new(channel, Bytes::copy_from_slice(message.get_payload_bytes()))
            });
            let link: Arc<dyn BusLink> = Arc::new(RedisLink {
                conn,
                namespace: self.namespace.clone(),
            });
            Ok((link, Box::pin(messages) as BusMessages))
        })
    }
}

/// One node's command connection.
struct RedisLink {
    conn: MultiplexedConnection,
    namespace: String,
}

impl fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLink")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl RedisLink {
    fn presence_key(&self, node: &str) -> String {
        format!("{}:presence:{node}", self.namespace)
    }

    fn nodes_key(&self) -> String {
        format!("{}:nodes", self.namespace)
    }
}

/// Milliseconds since the epoch, the score of a node's expiry. Nodes'
/// clocks are taken to agree within a small part of the TTL.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

impl BusLink for RedisLink {
    fn publish<'a>(&'a self, channel: &'a str, payload: Bytes) -> BusFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let channel = format!("{}:{channel}", self.namespace);
            let _receivers: usize = conn
                .publish(channel, payload.as_ref())
                .await
                .map_err(broker)?;
            Ok(())
        })
    }

    fn store_presence<'a>(
        &'a self,
        node: &'a str,
        sessions: &'a [(u64, String)],
        ttl: Duration,
    ) -> BusFuture<'a, Vec<String>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let key = self.presence_key(node);
            let nodes = self.nodes_key();
            let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
            let now = now_ms();
            let mut pipe = redis::pipe();
            pipe.atomic().del(&key).ignore();
            if !sessions.is_empty() {
                pipe.hset_multiple(&key, sessions).ignore();
                pipe.pexpire(&key, ttl_ms).ignore();
            }
            pipe.zadd(&nodes, node, now.saturating_add(ttl_ms)).ignore();
            pipe.query_async::<()>(&mut conn).await.map_err(broker)?;
            // Nodes whose presence ran out: whoever removes one from the
            // set announces it, so each is announced once.
            let stale: Vec<String> = conn
                .zrangebyscore(&nodes, "-inf", now)
                .await
                .map_err(broker)?;
            let mut expired = Vec::new();
            for name in stale {
                let removed: usize = conn.zrem(&nodes, &name).await.map_err(broker)?;
                if removed == 1 {
                    let _: usize = conn.del(self.presence_key(&name)).await.map_err(broker)?;
                    expired.push(name);
                }
            }
            Ok(expired)
        })
    }

    fn remove_presence<'a>(&'a self, node: &'a str) -> BusFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            redis::pipe()
                .atomic()
                .del(self.presence_key(node))
                .ignore()
                .zrem(self.nodes_key(), node)
                .ignore()
                .query_async::<()>(&mut conn)
                .await
                .map_err(broker)
        })
    }

    fn load_presence(&self) -> BusFuture<'_, Vec<PresenceEntry>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let live: Vec<String> = conn
                .zrangebyscore(self.nodes_key(), now_ms(), "+inf")
                .await
                .map_err(broker)?;
            let mut entries = Vec::new();
            for node in live {
                let sessions: HashMap<String, String> = conn
                    .hgetall(self.presence_key(&node))
                    .await
                    .map_err(broker)?;
                for (id, subject) in sessions {
                    let id = id.parse().map_err(|_| BusError::Malformed)?;
                    entries.push(PresenceEntry::new(node.clone(), id, subject));
                }
            }
            Ok(entries)
        })
    }
}
