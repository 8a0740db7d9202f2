//! Broadcast: one encoding queued to every session in an audience, on this
//! node and, through the bus, on the others; and pushes to one session of
//! any node.

use std::sync::{Arc, Weak};

use bytes::Bytes;
use serde::Serialize;

use super::{Audience, Registry};
use crate::{
    push::{
        BusDelivery, PushError, PushHandle, PushOptions, PushPolicy,
        bus::{self, Target},
        encode_push,
    },
    session::Shared,
};

/// What a broadcast achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastReport {
    /// Sessions whose queue took the push.
    pub reached: usize,
    /// Sessions whose queue was full (the push went to the dead-letter
    /// queue, if there is one).
    pub full: usize,
    /// Sessions that closed in the meantime.
    pub closed: usize,
    /// Sessions whose peer accepts no message this large (the push went
    /// to the dead-letter queue, if there is one).
    pub too_large: usize,
    /// What was done for sessions on other nodes: nothing without a bus,
    /// else whether the push was handed to it. The counts above are this
    /// node's sessions only.
    pub bus: BusDelivery,
}

impl Registry {
    /// Pushes one notification to every session in `audience`, encoding it
    /// once. Never waits: a full queue counts as `full` and its push goes to
    /// the dead-letter queue, if there is one. Only the sessions in
    /// `audience` are touched.
    ///
    /// On a node of a [`Cluster`](crate::Cluster) it also reaches the
    /// sessions in `audience` on every other node: the same encoded frame
    /// is handed to the bus once ([`BroadcastReport::bus`] says whether it
    /// was), and each other node queues it for its own sessions.
    ///
    /// # Errors
    ///
    /// [`PushError::Encode`] when the value does not encode.
    pub fn broadcast<T: Serialize + ?Sized>(
        &self,
        audience: Audience<'_>,
        topic: &str,
        value: &T,
    ) -> Result<BroadcastReport, PushError> {
        self.broadcast_with(audience, topic, value, PushOptions::default())
    }

    /// [`broadcast`](Self::broadcast) at a priority and with a policy for
    /// full queues, which every node applies to its own sessions.
    ///
    /// # Errors
    ///
    /// [`PushError::Encode`] when the value does not encode.
    pub fn broadcast_with<T: Serialize + ?Sized>(
        &self,
        audience: Audience<'_>,
        topic: &str,
        value: &T,
        options: PushOptions,
    ) -> Result<BroadcastReport, PushError> {
        let frame = encode_push(topic, value)?;
        let mut report = deliver(&self.live(audience, |_| true), &frame, options);
        if let Some(node) = &self.inner.node {
            report.bus = node.hand(
                bus::ALL.to_owned(),
                Target::from_audience(audience),
                options,
                &frame,
            );
        }
        Ok(report)
    }

    /// Pushes one notification to the session `session_id` of the node
    /// `node` ([`ClusterHandle::node`](crate::ClusterHandle::node) names
    /// this one; presence tells which node a session is on). A session of
    /// this node is pushed to at once, one of another node through the
    /// bus, whose answer is in [`BroadcastReport::bus`]. Never waits. On a server without a
    /// cluster every session is this node's, and `node` is not read.
    ///
    /// # Errors
    ///
    /// [`PushError::Encode`] when the value does not encode.
    pub fn push_to<T: Serialize + ?Sized>(
        &self,
        node: &str,
        session_id: u64,
        topic: &str,
        value: &T,
        options: PushOptions,
    ) -> Result<BroadcastReport, PushError> {
        let frame = encode_push(topic, value)?;
        match &self.inner.node {
            Some(remote) if remote.name() != node => Ok(BroadcastReport {
                bus: remote.hand(
                    bus::node_channel(node),
                    Target::Session(session_id),
                    options,
                    &frame,
                ),
                ..BroadcastReport::default()
            }),
            _ => Ok(self.deliver_envelope(&Target::Session(session_id), &frame, options)),
        }
    }

    /// Queues a frame that came through the bus to this node's sessions in
    /// `target`.
    pub(crate) fn deliver_envelope(
        &self,
        target: &Target,
        frame: &Bytes,
        options: PushOptions,
    ) -> BroadcastReport {
        let sessions = if let Target::Session(id) = *target {
            self.read()
                .get(id)
                .and_then(Weak::upgrade)
                .filter(|shared| !shared.is_closing())
                .into_iter()
                .collect()
        } else {
            let audience = target
                .audience()
                .expect("every target but a session is an audience");
            self.live(audience, |_| true)
        };
        deliver(&sessions, frame, options)
    }
}

/// Queues one encoded frame to each of `sessions` with `options`, without
/// waiting.
pub(crate) fn deliver(
    sessions: &[Arc<Shared>],
    frame: &Bytes,
    options: PushOptions,
) -> BroadcastReport {
    let policy = match options.policy {
        PushPolicy::Wait => PushPolicy::Fail,
        policy => policy,
    };
    let mut report = BroadcastReport::default();
    for shared in sessions {
        let handle = PushHandle::new(shared).with_priority(options.priority);
        match handle.try_push_frame(frame.clone(), policy) {
            Ok(()) => report.reached += 1,
            Err(PushError::Full) => report.full += 1,
            Err(PushError::TooLarge { .. }) => report.too_large += 1,
            Err(_) => report.closed += 1,
        }
    }
    report
}
