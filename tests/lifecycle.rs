//! Lifecycle hooks: `on_connect` runs on every new session before its
//! first frame, `on_disconnect` once it has ended, with the close reason,
//! on servers and clients alike, so an application keeps its own presence
//! list without polling.

mod common;

use common::{server_config, url, within};
use rpc::{Client, CloseReason, Server, protocol::close_code};
use tokio::sync::mpsc;

#[derive(Debug, PartialEq)]
enum Seen {
    Connected {
        id: u64,
        who: Option<String>,
    },
    Left {
        id: u64,
        who: Option<String>,
        code: u16,
        by_peer: bool,
    },
}

fn who(session: &rpc::Session) -> Option<String> {
    session.identity().map(|id| id.subject().to_owned())
}

fn left(session: &rpc::Session, reason: &CloseReason) -> Seen {
    Seen::Left {
        id: session.id(),
        who: who(session),
        code: reason.code,
        by_peer: reason.by_peer,
    }
}

/// Hooks that report what they see on a channel: `on_connect`,
/// `on_disconnect`, and the receiving end.
fn recording() -> (
    impl Fn(&rpc::Session) + Send + Sync + 'static,
    impl Fn(&rpc::Session, &CloseReason) + Send + Sync + 'static,
    mpsc::UnboundedReceiver<Seen>,
) {
    let (seen_tx, seen) = mpsc::unbounded_channel();
    let on_leave = seen_tx.clone();
    let on_connect = move |session: &rpc::Session| {
        let _ = seen_tx.send(Seen::Connected {
            id: session.id(),
            who: who(session),
        });
    };
    let on_disconnect = move |session: &rpc::Session, reason: &CloseReason| {
        let _ = on_leave.send(left(session, reason));
    };
    (on_connect, on_disconnect, seen)
}

#[tokio::test]
async fn a_server_sees_each_session_arrive_and_leave_with_its_reason() {
    let (on_connect, on_disconnect, mut seen) = recording();
    let server = Server::builder()
        .config(server_config())
        .authenticate(common::subject_from_header)
        .on_connect(on_connect)
        .on_disconnect(on_disconnect)
        .bind("127.0.0.1:0")
        .await
        .unwrap();

    let client = within(
        "connect",
        Client::builder()
            .header("authorization", "alice")
            .connect(&url(&server)),
    )
    .await
    .unwrap();
    let id = client.session().id();
    assert_eq!(
        within("connected", seen.recv()).await.unwrap(),
        Seen::Connected {
            id,
            who: Some("alice".to_owned())
        }
    );
    client.close().await;
    assert_eq!(
        within("left", seen.recv()).await.unwrap(),
        Seen::Left {
            id,
            who: Some("alice".to_owned()),
            code: close_code::NORMAL,
            by_peer: true,
        }
    );
}

#[tokio::test]
async fn a_client_hears_of_its_end_when_the_server_shuts_down() {
    let server = Server::builder()
        .config(server_config())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let (on_connect, on_disconnect, mut seen) = recording();
    let client = within(
        "connect",
        Client::builder()
            .on_connect(on_connect)
            .on_disconnect(on_disconnect)
            .connect(&url(&server)),
    )
    .await
    .unwrap();
    let id = client.session().id();
    assert_eq!(
        within("connected", seen.recv()).await.unwrap(),
        Seen::Connected { id, who: None }
    );
    within("shutdown", server.shutdown()).await;
    assert_eq!(
        within("left", seen.recv()).await.unwrap(),
        Seen::Left {
            id,
            who: None,
            code: close_code::GOING_AWAY,
            by_peer: true,
        }
    );
}
