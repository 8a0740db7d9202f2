//! Sessions over one end of an in-memory connection, for the unit tests of
//! the session's parts.

use std::sync::Arc;

use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{Hooks, Role, Session, Setup, handshake, start};
use crate::{
    config::SessionConfig,
    protocol::Features,
    router::Routes,
    transport::memory::{self, MemoryTransport},
};

/// A client session, running, over an in-memory connection that holds
/// `capacity` messages each way; the other end is returned unread.
pub(super) fn over_memory(config: SessionConfig, capacity: usize) -> (Session, MemoryTransport) {
    let (session, drive, other) = started(config, capacity);
    tokio::spawn(drive);
    (session, other)
}

/// [`over_memory`], with the driver not yet running.
fn started(
    config: SessionConfig,
    capacity: usize,
) -> (
    Session,
    impl Future<Output = ()> + Send + 'static,
    MemoryTransport,
) {
    let (end, other) = memory::pair(capacity, (config.max_message_size, config.max_message_size));
    let setup = Setup {
        id: 1,
        role: Role::Client,
        remote_addr: None,
        identity: None,
        peer_limits: handshake::limits(&config),
        config,
        routes: Arc::new(Routes::default()),
        described: crate::metadata::DiscoverAnswer::default(),
        tracker: TaskTracker::new(),
        registry: None,
        dead_letters: None,
        features: Features::all(),
        shutdown: CancellationToken::new(),
        shutdown_grace: None,
        hooks: Hooks::default(),
    };
    let (session, drive) = start(Box::new(end), setup);
    (session, drive, other)
}

#[tokio::test]
async fn a_driver_dropped_unpolled_lets_the_transport_go_though_the_session_is_held() {
    use futures_util::StreamExt;

    let (session, drive, mut other) = started(SessionConfig::default(), 4);
    drop(drive);
    // Both halves are gone, the write half too, though the shared state
    // that holds it lives on with the session handle: the other end sees
    // the connection lost.
    let next = tokio::time::timeout(std::time::Duration::from_secs(5), other.next())
        .await
        .expect("the other end sees the connection end");
    assert!(
        matches!(next, Some(crate::transport::Received::End(_))),
        "{next:?}"
    );
    drop(session);
}

/// A call whose session starts closing between its registration and its
/// send fails `Closed`, not `Indeterminate` (it never reached the peer),
/// and leaves nothing in the pending table.
#[tokio::test]
async fn a_call_whose_send_finds_the_session_closing_fails_closed_and_leaves_no_entry() {
    let (session, _other) = over_memory(SessionConfig::default(), 64);
    // What `close` sets first: the reason. The pending table, closed after
    // it, still registers the call; its send then finds the session closing.
    session
        .shared
        .close_reason
        .set(crate::error::CloseReason::local(1001, "going away"))
        .unwrap();
    let outcome = session.peer().call::<_, ()>("anything", &()).await;
    assert!(
        matches!(&outcome, Err(crate::Error::Closed(reason)) if reason.code == 1001),
        "{outcome:?}"
    );
    assert_eq!(
        session.shared.pending.entries(),
        0,
        "the call was forgotten"
    );
    // Nothing was queued for the peer, a `Cancel` no more than the call:
    // the call ended within its first poll, before the writer task ran.
    assert!(!session.shared.outbound.has_queued());
}
