//! How long a client's connection lives: while the `Client`, or any peer or
//! typed stub made from its peer, is alive. The server's side of the
//! session shows when it ends.

mod common;

use common::within;
use rpc::{Client, Server, Session, protocol::close_code};
use tokio::sync::mpsc;

/// Hands each caller's session to the test, which then watches it close.
struct Lobby {
    sessions: mpsc::UnboundedSender<Session>,
}

#[rpc::router]
impl Lobby {
    #[rpc::call]
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    #[rpc::call]
    async fn join(&self, session: &Session) {
        let _ = self.sessions.send(session.clone());
    }
}

async fn serve() -> (Server, mpsc::UnboundedReceiver<Session>) {
    let (sessions, joined) = mpsc::unbounded_channel();
    let server = Server::builder()
        .mount(Lobby { sessions })
        .bind("127.0.0.1:0")
        .await
        .expect("binds 127.0.0.1:0");
    (server, joined)
}

/// The server's side of `lobby`'s session.
async fn server_side(
    lobby: &LobbyClient,
    joined: &mut mpsc::UnboundedReceiver<Session>,
) -> Session {
    lobby.join().await.expect("joins");
    within("the server's session", joined.recv())
        .await
        .expect("the server is up")
}

/// Waits for `session` to close and checks that the client closed it
/// normally on dropping its last handle.
async fn assert_dropped(session: &Session) {
    let reason = within("the server sees the close", session.closed()).await;
    assert_eq!(reason.code, close_code::NORMAL, "{reason:?}");
    assert_eq!(reason.reason, "client dropped");
    assert!(reason.by_peer, "{reason:?}");
}

#[tokio::test]
async fn a_stub_made_from_a_temporary_client_keeps_the_connection_open() {
    let (server, mut joined) = serve().await;
    let lobby = LobbyClient::new(
        Client::connect(&common::url(&server))
            .await
            .expect("connects")
            .peer(),
    );
    let session = server_side(&lobby, &mut joined).await;
    assert_eq!(lobby.add(2, 3).await.expect("add"), 5);
    assert!(!session.is_closed());

    drop(lobby);
    assert_dropped(&session).await;
}

#[tokio::test]
async fn the_session_closes_once_the_client_and_every_stub_are_dropped() {
    let (server, mut joined) = serve().await;
    let client = common::connect(&server).await;
    let lobby = LobbyClient::new(client.peer());
    let copy = lobby.clone();
    let session = server_side(&lobby, &mut joined).await;

    drop(client);
    assert_eq!(lobby.add(1, 1).await.expect("add"), 2);
    drop(lobby);
    // The clone still holds the connection: a call goes through, so the
    // server has seen no close before it.
    assert_eq!(copy.add(2, 2).await.expect("add"), 4);
    assert!(!session.is_closed());

    drop(copy);
    assert_dropped(&session).await;
}

#[tokio::test]
async fn close_ends_the_connection_whatever_else_holds_it() {
    let (server, mut joined) = serve().await;
    let client = common::connect(&server).await;
    let lobby = LobbyClient::new(client.peer());
    let session = server_side(&lobby, &mut joined).await;

    let reason = within("close", client.close()).await;
    assert_eq!(reason.code, close_code::NORMAL, "{reason:?}");
    let err = lobby.add(1, 1).await.expect_err("the connection is closed");
    assert!(err.is_closed(), "{err:?}");
    let seen = within("the server sees the close", session.closed()).await;
    assert_eq!(seen.reason, "client closed");
}

#[tokio::test]
async fn a_peer_from_the_clients_session_holds_nothing_open() {
    let (server, mut joined) = serve().await;
    let client = common::connect(&server).await;
    let unheld = LobbyClient::new(&client.session().peer());
    let session = server_side(&unheld, &mut joined).await;

    drop(client);
    assert_dropped(&session).await;
    let err = unheld
        .add(1, 1)
        .await
        .expect_err("the connection is closed");
    assert!(err.is_closed(), "{err:?}");
}
