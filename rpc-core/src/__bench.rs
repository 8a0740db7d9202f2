//! Entry points for the registry benchmark (`bench/benches/registry.rs`):
//! many sessions that cost only their memory, and the look-up and
//! broadcast the registry did before its indexes, to measure against. Not
//! part of the API: names and signatures change without notice.

use std::sync::Arc;

use serde::Serialize;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    Audience, BroadcastReport, Identity, PushError, PushHandle, Registry, Session,
    config::{ServerConfig, SessionConfig},
    push::{deliver, encode_push},
    router::Routes,
    session::{self, Role, Setup, Shared, handshake},
    transport::memory,
};

/// Makes sessions in a registry of their own, as a server would, but
/// without a connection: their tasks never run, so they stay registered
/// (with their tags) while the returned [`Session`]s are held, and their
/// queues take pushes until full.
#[derive(Debug)]
pub struct Sessions {
    registry: Registry,
    routes: Arc<Routes>,
    tracker: TaskTracker,
    config: SessionConfig,
    next_id: u64,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            registry: Registry::new(ServerConfig::default().registry_events),
            routes: Arc::default(),
            tracker: TaskTracker::new(),
            config: SessionConfig::default(),
            next_id: 1,
        }
    }
}

impl Sessions {
    /// Their registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// A new session with `identity`, registered.
    pub fn open(&mut self, identity: Option<Identity>) -> Session {
        let config = &self.config;
        let (end, _peer) = memory::pair(1, (config.max_message_size, config.max_message_size));
        let setup = Setup {
            id: self.next_id,
            role: Role::Server,
            remote_addr: None,
            identity,
            config: config.clone(),
            routes: Arc::clone(&self.routes),
            described: crate::metadata::DiscoverAnswer::default(),
            tracker: self.tracker.clone(),
            registry: Some(self.registry.clone()),
            dead_letters: None,
            peer_limits: handshake::limits(config),
            features: crate::protocol::Features::all(),
            shutdown: CancellationToken::new(),
            shutdown_grace: None,
            hooks: crate::session::Hooks::default(),
        };
        self.next_id += 1;
        let (session, _never_driven) = session::start(Box::new(end), setup);
        session
    }
}

/// Whether a session is in `audience`, as look-ups tested each session
/// before the indexes.
fn matches(shared: &Shared, audience: Audience<'_>) -> bool {
    match audience {
        Audience::Tag(key, value) => shared.has_tag(key, value),
        Audience::Identity(subject) => shared.identity().is_some_and(|id| id.subject() == subject),
        _ => true,
    }
}

/// [`Registry::find`] as it was: a scan of every session, locking each
/// one's tags.
pub fn scan_find(registry: &Registry, audience: Audience<'_>) -> Vec<PushHandle> {
    registry
        .live(Audience::All, |shared| matches(shared, audience))
        .iter()
        .map(PushHandle::new)
        .collect()
}

/// [`Registry::broadcast`] as it was: over a scan of every session.
///
/// # Errors
///
/// As [`Registry::broadcast`].
pub fn scan_broadcast<T: Serialize + ?Sized>(
    registry: &Registry,
    audience: Audience<'_>,
    topic: &str,
    value: &T,
) -> Result<BroadcastReport, PushError> {
    let frame = encode_push(topic, value)?;
    let sessions = registry.live(Audience::All, |shared| matches(shared, audience));
    Ok(deliver(&sessions, &frame, crate::PushOptions::default()))
}
