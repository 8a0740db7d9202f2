//! [`pair`]: a server's routers and a client's over the in-memory transport.

use std::sync::Arc;

use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    client::{self, Client, ClientBuilder},
    error::{ConnectError, HandshakeError, ServeError},
    push::Registry,
    server::ServerBuilder,
    session::{self, Role, Session, Setup, handshake},
    transport::{BoxTransport, memory},
};

/// Messages each direction of a pair holds before the sender waits, as a
/// socket's buffers would.
const CAPACITY: usize = 64;

/// Two connected sessions: the server's side and the client.
#[derive(Debug)]
#[non_exhaustive]
pub struct Pair {
    /// The server's session, as its handlers see it; its
    /// [`registry`](Session::registry) holds this one session.
    pub server: Session,
    /// The client, as [`Client::connect`] would have returned it.
    pub client: Client,
}

/// Why a pair could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PairError {
    /// The server's routers or configuration were refused.
    #[error("the server side could not start")]
    Server(#[source] ServeError),
    /// The client's routers or configuration were refused, or the
    /// handshake failed.
    #[error("the client side could not connect")]
    Client(#[source] ConnectError),
}

/// Connects `server`'s routers and configuration to `client`'s over an
/// in-memory transport, with the protocol handshake, and starts both
/// sessions. The server's authentication hook is not run (there is no
/// upgrade request); its dead-letter queue is used.
///
/// # Errors
///
/// [`PairError::Server`] or [`PairError::Client`] for refused routers or
/// configurations, or a failed handshake.
pub async fn pair(server: ServerBuilder, client: ClientBuilder) -> Result<Pair, PairError> {
    let server = server.into_parts().map_err(PairError::Server)?;
    let (client_routes, client_config, client_hooks) =
        client.into_parts().map_err(PairError::Client)?;
    let session_config = server.config.session.clone();
    let (server_end, client_end) = memory::pair(
        CAPACITY,
        (
            session_config.max_message_size,
            client_config.session.max_message_size,
        ),
    );
    let (mut server_end, mut client_end): (BoxTransport, BoxTransport) =
        (Box::new(server_end), Box::new(client_end));
    let never = CancellationToken::new();
    let (accepted, opened) = tokio::join!(
        handshake::accept(&mut server_end, 1, &session_config, &never),
        handshake::open(&mut client_end, &client_config.session),
    );
    let handshake = |err: HandshakeError| PairError::Client(ConnectError::Handshake(err));
    let (client_limits, features) = accepted.map_err(handshake)?;
    let welcome = opened.map_err(handshake)?;

    let routes = Arc::new(server.routes);
    let tracker = TaskTracker::new();
    let operations = session::Operations::new(&server.config, never.clone());
    let setup = Setup {
        id: welcome.session_id,
        role: Role::Server,
        remote_addr: None,
        identity: None,
        config: session_config,
        described: routes.describe(),
        routes,
        tracker: tracker.clone(),
        registry: Some(Registry::new(server.config.registry_events)),
        dead_letters: server.dead_letters,
        peer_limits: client_limits,
        features,
        shutdown: never,
        shutdown_grace: None,
        hooks: server.hooks,
    };
    let (server_session, drive) = session::start_serving(server_end, setup, operations);
    tracker.spawn(drive);
    tracker.close();
    let client = client::start(
        std::sync::Arc::new(client_routes),
        client_config.session,
        client_end,
        &welcome,
        None,
        client_hooks,
    );
    Ok(Pair {
        server: server_session,
        client,
    })
}
