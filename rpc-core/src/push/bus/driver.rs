//! The bus task of a node. One loop: connect (with backoff, forever),
//! then run three jobs on that connection until one of them finds it
//! broken: deliver what arrives, publish what the registry handed over,
//! keep presence stored and refreshed. Then every push still queued goes
//! to the dead-letter queue (nothing waits for a broker that is away) and
//! the loop connects again, which resubscribes.

use std::{sync::Arc, time::Duration};

use futures_util::{FutureExt, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{
    Bus, BusError, BusLink, BusMessages, Cluster,
    envelope::{self, Notice},
    node::{ALL, Node, Outgoing, PRESENCE, node_channel},
    presence::Snapshot,
};
use crate::{
    client::ReconnectPolicy,
    log_limit::LogLimit,
    push::{DeadLetterReason, DeadLetters, EventsError, Registry, RegistryEvent, RegistryEvents},
};

/// How long a node that shuts down gives the broker to forget its presence.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(1);

/// The bus task of one node, before it runs.
#[derive(Debug)]
pub(crate) struct Driver {
    node: Arc<Node>,
    bus: Arc<dyn Bus>,
    queue: mpsc::Receiver<Outgoing>,
    ttl: Duration,
    reconnect: ReconnectPolicy,
}

/// Makes the node of `cluster` (for its registry) and its task (to run
/// with that registry).
pub(crate) fn spawn(
    cluster: Cluster,
    registry_events: usize,
    dead_letters: Option<DeadLetters>,
) -> (Arc<Node>, Driver) {
    let (sender, queue) = mpsc::channel(cluster.publish_queue);
    let node = Arc::new(Node::new(
        cluster.node,
        sender,
        registry_events,
        dead_letters,
    ));
    let driver = Driver {
        node: Arc::clone(&node),
        bus: cluster.bus,
        queue,
        ttl: cluster.presence_ttl,
        reconnect: cluster.reconnect,
    };
    (node, driver)
}

impl Driver {
    /// Runs until `shutdown`, then removes the node's presence (bounded).
    pub(crate) async fn run(mut self, registry: Registry, shutdown: CancellationToken) {
        let node = Arc::clone(&self.node);
        let channels = [
            ALL.to_owned(),
            node_channel(&node.name),
            PRESENCE.to_owned(),
        ];
        // Subscribed before the first connection, so that no arrival is
        // missed between storing presence and watching for changes.
        let mut events = registry.events();
        let mut snapshot = Snapshot::default();
        let mut attempt = 0u32;
        loop {
            let bus = Arc::clone(&self.bus);
            let connected = tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                connected = refusing(&mut self.queue, &node, bus.connect(&channels)) => connected,
            };
            let (link, messages) = match connected {
                Ok(connected) => connected,
                Err(err) => {
                    attempt = attempt.saturating_add(1);
                    let delay = self.reconnect.delay(attempt);
                    tracing::warn!(node = node.name, error = %err, attempt, ?delay, "cannot reach the bus");
                    tokio::select! {
                        biased;
                        () = shutdown.cancelled() => return,
                        () = refusing(&mut self.queue, &node, tokio::time::sleep(delay)) => continue,
                    }
                }
            };
            node.connected(Some(Arc::clone(&link)));
            tracing::info!(node = node.name, "bus connected");
            // The broker may have lost what was stored (a restart): store
            // and announce everything again.
            snapshot.clear();
            let lost = tokio::select! {
                biased;
                () = shutdown.cancelled() => {
                    node.connected(None);
                    leave(&*link, &node, &mut snapshot).await;
                    return;
                }
                lost = receive(messages, &registry, &node) => lost,
                lost = publish(&mut self.queue, &*link, &node) => lost,
                lost = keep_presence(&*link, &registry, &mut events, &mut snapshot, self.ttl, &node) => lost,
            };
            node.connected(None);
            tracing::warn!(node = node.name, error = %lost, "bus connection lost");
            while let Ok(outgoing) = self.queue.try_recv() {
                refuse(&node, &outgoing);
            }
            attempt = 1;
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                () = refusing(&mut self.queue, &node, tokio::time::sleep(self.reconnect.delay(attempt))) => {}
            }
        }
    }
}

/// Runs `work` while turning every push handed to the bus meanwhile into
/// a dead letter: no push waits for a connection.
async fn refusing<T>(
    queue: &mut mpsc::Receiver<Outgoing>,
    node: &Node,
    work: impl Future<Output = T>,
) -> T {
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            biased;
            done = &mut work => return done,
            Some(outgoing) = queue.recv() => refuse(node, &outgoing),
        }
    }
}

fn refuse(node: &Node, outgoing: &Outgoing) {
    node.dead_letter(
        outgoing.session_id,
        &outgoing.frame,
        DeadLetterReason::BusUnavailable,
    );
}

/// Delivers what other nodes publish, until the subscription ends.
/// Whatever else publishes on the broker's channels can send anything:
/// what does not decode costs a bounded number of WARN lines.
async fn receive(mut messages: BusMessages, registry: &Registry, node: &Node) -> BusError {
    let log_limit = LogLimit::new();
    while let Some(message) = messages.next().await {
        if message.channel == PRESENCE {
            match Notice::decode(&message.payload) {
                Ok(notice) if notice.origin != node.name => node.announce(notice),
                Ok(_) => {}
                Err(err) => log_limit.log(|left_out| {
                    tracing::warn!(node = node.name, error = %err, left_out, "presence notice dropped");
                }),
            }
            continue;
        }
        match envelope::decode(&message.payload) {
            Ok(envelope) if envelope.origin != node.name => {
                registry.deliver_envelope(&envelope.target, &envelope.frame, envelope.options);
            }
            Ok(_) => {}
            Err(err) => log_limit.log(|left_out| {
                tracing::warn!(node = node.name, error = %err, left_out, "bus message dropped");
            }),
        }
    }
    BusError::Lost
}

/// Publishes handed pushes in order, until one fails.
async fn publish(
    queue: &mut mpsc::Receiver<Outgoing>,
    link: &dyn BusLink,
    node: &Node,
) -> BusError {
    // The node holds the sender, and this task holds the node: recv only
    // ends with the task.
    while let Some(outgoing) = queue.recv().await {
        if let Err(err) = link
            .publish(&outgoing.channel, outgoing.payload.clone())
            .await
        {
            refuse(node, &outgoing);
            return err;
        }
    }
    BusError::Unavailable
}

/// Stores the node's presence on every change and every third of the TTL,
/// announcing changes and expired nodes, until the broker fails.
async fn keep_presence(
    link: &dyn BusLink,
    registry: &Registry,
    events: &mut RegistryEvents,
    snapshot: &mut Snapshot,
    ttl: Duration,
    node: &Node,
) -> BusError {
    let period = ttl / 3;
    let mut refresh = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let notice = snapshot.update(&node.name, registry.identities());
        let expired = match link
            .store_presence(&node.name, &snapshot.entries(), ttl)
            .await
        {
            Ok(expired) => expired,
            Err(err) => return err,
        };
        let mut notice = notice.unwrap_or_else(|| Notice {
            origin: node.name.clone(),
            ..Notice::default()
        });
        notice.expired = expired;
        if !(notice.joined.is_empty() && notice.left.is_empty() && notice.expired.is_empty()) {
            if let Err(err) = link.publish(PRESENCE, notice.encode()).await {
                return err;
            }
            node.announce(notice);
        }
        tokio::select! {
            _ = refresh.tick() => {}
            () = changed(events) => {}
        }
        // Changes that came meanwhile are in the next store.
        while events.recv().now_or_never().is_some() {}
    }
}

/// Waits for an arrival or departure that presence shows: one with an
/// identity (or events missed, which may have been such).
async fn changed(events: &mut RegistryEvents) {
    loop {
        match events.recv().await {
            Ok(RegistryEvent::Joined(handle)) if handle.identity().is_some() => return,
            Ok(RegistryEvent::Left {
                identity: Some(_), ..
            })
            | Err(EventsError::Lagged { .. }) => return,
            Ok(_) => {}
            Err(EventsError::Closed) => std::future::pending().await,
        }
    }
}

/// Removes the node's presence and tells the others, within
/// [`LEAVE_TIMEOUT`].
async fn leave(link: &dyn BusLink, node: &Node, snapshot: &mut Snapshot) {
    // Removed first, so that whoever reads presence on the notice finds
    // the node gone.
    let leave = async {
        link.remove_presence(&node.name).await?;
        match snapshot.update(&node.name, Vec::new()) {
            Some(notice) => link.publish(PRESENCE, notice.encode()).await,
            None => Ok(()),
        }
    };
    match tokio::time::timeout(LEAVE_TIMEOUT, leave).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(node = node.name, error = %err, "presence not removed"),
        Err(_) => tracing::warn!(node = node.name, "presence not removed in time"),
    }
}
