//! What a registry look-up gives back: one session's id, identity, address
//! and tags, and the means to push to it.

use std::{net::SocketAddr, sync::Arc};

use crate::{
    identity::Identity,
    push::PushHandle,
    session::{Peer, Session, Shared},
};

/// One session found in a [`Registry`](super::Registry): who it is
/// ([`id`](Self::id), [`identity`](Self::identity),
/// [`remote_addr`](Self::remote_addr), [`tags`](Self::tags)) and a
/// [`PushHandle`] to reach it. Like the push handle, it does not keep the
/// session alive.
///
/// # Example
///
/// ```
/// # extern crate rpc_core as rpc;
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use rpc::{Audience, Client, Server, testing};
///
/// let pair = testing::pair(Server::builder(), Client::builder()).await?;
/// pair.server.join("room", "rust")?;
/// let registry = pair.server.registry().expect("a server's session");
/// for member in registry.find(Audience::Tag("room", "rust")) {
///     assert_eq!(member.id(), pair.server.id());
///     assert!(member.has_tag("room", "rust"));
///     member.push_handle().try_push("message", &("bot", "hello"))?;
/// }
/// # Ok(())
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(example()).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SessionHandle {
    push: PushHandle,
    identity: Option<Identity>,
    remote_addr: Option<SocketAddr>,
}

impl SessionHandle {
    pub(crate) fn new(shared: &Arc<Shared>) -> Self {
        Self {
            push: PushHandle::new(shared),
            identity: shared.identity().cloned(),
            remote_addr: shared.remote_addr(),
        }
    }

    /// The session id ([`Session::id`]).
    pub fn id(&self) -> u64 {
        self.push.session_id()
    }

    /// The identity the server's authentication hook attached, if any.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// The peer's socket address, when the transport has one.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// The session's tags now, as [`Session::tags`]; none once it has ended.
    pub fn tags(&self) -> Vec<(String, String)> {
        self.push
            .session
            .upgrade()
            .map_or_else(Vec::new, |shared| shared.tags())
    }

    /// Whether the session is tagged `key=value` now.
    pub fn has_tag(&self, key: &str, value: &str) -> bool {
        self.push
            .session
            .upgrade()
            .is_some_and(|shared| shared.has_tag(key, value))
    }

    /// The handle that pushes to the session (clone it to change its
    /// priority or rate limit).
    pub fn push_handle(&self) -> &PushHandle {
        &self.push
    }

    /// The push handle, without the rest.
    pub fn into_push_handle(self) -> PushHandle {
        self.push
    }

    /// Whether the session is still open.
    pub fn is_alive(&self) -> bool {
        self.push.is_alive()
    }

    /// A handle to call the session's peer, while the session lives.
    pub fn peer(&self) -> Option<Peer> {
        self.push.peer()
    }

    /// The session itself, while it lives: to tag it from outside its
    /// handlers (move a user to a room) or to close it. The [`Session`]
    /// keeps it in memory while held, as any `Session` does.
    pub fn session(&self) -> Option<Session> {
        self.push.session.upgrade().map(Session::from_shared)
    }
}
