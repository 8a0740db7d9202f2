//! The registry, round 2: rooms (many values per tag key), look-ups that
//! hand back who a session is, indexed look-ups and broadcasts, arrival and
//! departure events, and the bound on what a peer can make a session hold.

mod common;

use common::{FnRouter, connect_with, pair, server_config, session_config, within};
use rpc::{
    Audience, Client, EventsError, Identity, RegistryEvent, RegistryStats, Server, TagError,
    protocol::close_code,
};
use tokio::sync::mpsc;

/// `join(room)` and `leave(room)`, and `tag(key, value)` to set a
/// one-value tag.
fn rooms() -> FnRouter {
    common::rooms().call("tag", |req| async move {
        let (key, value): (String, String) = req.args()?;
        req.session().tag(key, value)?;
        req.reply(&())
    })
}

/// A client router that forwards the `message` pushes it receives.
fn inbox(tx: mpsc::UnboundedSender<String>) -> FnRouter {
    common::forwarder("Inbox", "message", tx)
}

async fn server() -> Server {
    Server::builder()
        .config(server_config())
        .mount(rooms().finished())
        .authenticate(|req| Ok(req.header("x-user").map(Identity::new)))
        .bind("127.0.0.1:0")
        .await
        .unwrap()
}

async fn user(server: &Server, name: &str, router: FnRouter) -> Client {
    Client::builder()
        .header("x-user", name)
        .mount(router.finished())
        .connect(&common::url(server))
        .await
        .unwrap()
}

async fn join(client: &Client, room: &str) -> bool {
    client.peer().call("join", &(room,)).await.unwrap()
}

fn ids(server: &Server, audience: Audience<'_>) -> Vec<u64> {
    let mut ids: Vec<u64> = server
        .registry()
        .find(audience)
        .iter()
        .map(rpc::SessionHandle::id)
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn a_session_in_two_rooms_is_found_in_both_and_leaves_one_at_a_time() {
    let server = server().await;
    let alice = user(&server, "alice", FnRouter::new("Quiet")).await;
    let bob = user(&server, "bob", FnRouter::new("Quiet")).await;
    let (a, b) = (alice.session().id(), bob.session().id());
    assert!(join(&alice, "rust").await);
    assert!(join(&alice, "go").await);
    assert!(!join(&alice, "go").await, "joining twice changes nothing");
    assert!(join(&bob, "rust").await);

    assert_eq!(ids(&server, Audience::Tag("room", "rust")), [a, b]);
    assert_eq!(ids(&server, Audience::Tag("room", "go")), [a]);
    assert_eq!(server.registry().stats().tags, 2);

    let left: bool = alice.peer().call("leave", &("rust",)).await.unwrap();
    assert!(left);
    assert_eq!(ids(&server, Audience::Tag("room", "rust")), [b]);
    assert_eq!(ids(&server, Audience::Tag("room", "go")), [a]);

    // `tag` keeps one value: it replaces every value of the key.
    let () = alice.peer().call("tag", &("room", "c")).await.unwrap();
    assert_eq!(ids(&server, Audience::Tag("room", "go")), [0u64; 0]);
    assert_eq!(ids(&server, Audience::Tag("room", "c")), [a]);
}

#[tokio::test]
async fn a_look_up_hands_back_id_identity_address_and_tags_and_can_push() {
    let server = server().await;
    let (tx, mut messages) = mpsc::unbounded_channel();
    let alice = user(&server, "alice", inbox(tx)).await;
    join(&alice, "rust").await;
    join(&alice, "go").await;

    let found = server.registry().find(Audience::Identity("alice"));
    assert_eq!(found.len(), 1);
    let member = &found[0];
    assert_eq!(member.id(), alice.session().id());
    assert_eq!(member.identity().map(Identity::subject), Some("alice"));
    let address = member.remote_addr().expect("a TCP peer has an address");
    assert!(address.ip().is_loopback());
    assert_eq!(
        member.tags(),
        [
            ("room".to_owned(), "rust".to_owned()),
            ("room".to_owned(), "go".to_owned())
        ]
    );
    member
        .push_handle()
        .push("message", &("hi",))
        .await
        .unwrap();
    assert_eq!(within("push", messages.recv()).await.as_deref(), Some("hi"));

    // The handle reaches the session itself: the server moves alice.
    let session = member.session().expect("alive");
    session.leave("room", "go");
    assert!(!member.has_tag("room", "go"));
    assert!(
        server
            .registry()
            .find(Audience::Tag("room", "go"))
            .is_empty()
    );
}

#[tokio::test]
async fn broadcast_to_a_room_reaches_its_members_only() {
    let server = server().await;
    let mut clients = Vec::new();
    for (name, room) in [("a", "rust"), ("b", "rust"), ("c", "go"), ("d", "go")] {
        let (tx, rx) = mpsc::unbounded_channel();
        let client = user(&server, name, inbox(tx)).await;
        join(&client, room).await;
        clients.push((client, rx));
    }
    // One session in both rooms gets the room's message once.
    join(&clients[2].0, "rust").await;
    let report = server
        .registry()
        .broadcast(Audience::Tag("room", "rust"), "message", &("news",))
        .unwrap();
    assert_eq!(report.reached, 3);
    for (_, rx) in &mut clients[..3] {
        assert_eq!(
            within("broadcast", rx.recv()).await.as_deref(),
            Some("news")
        );
    }
    let report = server
        .registry()
        .broadcast(Audience::Identity("d"), "message", &("only d",))
        .unwrap();
    assert_eq!(report.reached, 1);
    assert_eq!(
        within("d", clients[3].1.recv()).await.as_deref(),
        Some("only d")
    );
    // Nobody else got anything more.
    for (_, rx) in &mut clients[..3] {
        assert!(rx.try_recv().is_err());
    }
}

#[tokio::test]
async fn events_tell_arrivals_and_departures_with_the_reason() {
    let server = server().await;
    let mut events = server.registry().events();
    let alice = user(&server, "alice", FnRouter::new("Quiet")).await;
    let id = alice.session().id();
    let RegistryEvent::Joined(member) = within("joined", events.recv()).await.unwrap() else {
        panic!("a session joined first");
    };
    assert_eq!(member.id(), id);
    assert_eq!(member.identity().map(Identity::subject), Some("alice"));

    join(&alice, "rust").await;
    // Held past the end, as an application may hold a `Session`.
    let held = member.session().expect("alive");
    alice.close().await;
    match within("left", events.recv()).await.unwrap() {
        RegistryEvent::Left {
            id: left,
            identity,
            reason,
            ..
        } => {
            assert_eq!(left, id);
            assert_eq!(identity.as_ref().map(Identity::subject), Some("alice"));
            assert_eq!(reason.code, close_code::NORMAL);
            assert!(reason.by_peer);
        }
        other => panic!("expected a departure, got {other:?}"),
    }
    // Once it has left, no look-up and no index holds it.
    assert!(!server.registry().contains(id));
    assert_eq!(server.registry().stats(), RegistryStats::default());
    // Tagging a session that has left changes its tags, not the indexes.
    assert_eq!(held.join("room", "late"), Ok(true));
    assert_eq!(server.registry().stats(), RegistryStats::default());
    // Waiting for a departure that happened returns at once.
    within("departed", server.registry().departed(id)).await;
}

#[tokio::test]
async fn a_slow_subscriber_loses_the_oldest_events_and_is_told_how_many() {
    let server = Server::builder()
        .config(server_config().registry_events(2))
        .mount(rooms().finished())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let mut events = server.registry().events();
    let mut clients = Vec::new();
    for _ in 0..4 {
        let client = connect_with(&server, FnRouter::new("Quiet")).await;
        // Answered: the server's session has started, and said so.
        join(&client, "r").await;
        clients.push(client);
    }
    assert_eq!(
        events.recv().await.unwrap_err(),
        EventsError::Lagged { missed: 2 }
    );
    for client in &clients[2..] {
        let Ok(RegistryEvent::Joined(member)) = events.recv().await else {
            panic!("the newest arrivals are kept");
        };
        assert_eq!(member.id(), client.session().id());
    }
}

#[tokio::test(start_paused = true)]
async fn a_peer_cannot_make_its_session_hold_more_tags_than_the_limit() {
    let config = server_config().session(session_config().max_tags(3).max_tag_len(16));
    let pair = pair(rooms(), config, session_config()).await;
    let peer = pair.client.peer();
    for room in ["a", "b", "c"] {
        let _: bool = peer.call("join", &(room,)).await.unwrap();
    }
    let err = peer.call::<_, bool>("join", &("d",)).await.unwrap_err();
    let rpc::Error::Remote(remote) = err else {
        panic!("{err:?}")
    };
    assert_eq!(remote.code(), rpc::ErrorCode::APPLICATION);
    assert_eq!(remote.message(), TagError::TooMany { max: 3 }.to_string());
    // Replacing at the limit is no growth; a value that is too long is
    // refused whatever the count.
    let () = peer.call("tag", &("room", "z")).await.unwrap();
    assert_eq!(pair.server.tag_values("room"), ["z"]);
    let long = "x".repeat(13);
    let err = peer.call::<_, bool>("join", &(long,)).await.unwrap_err();
    assert!(
        err.to_string().contains("17 bytes exceeds the limit of 16"),
        "{err}"
    );
    assert_eq!(
        pair.server.join("room", "y"),
        Ok(true),
        "one value of `room`, room for two more"
    );
    let registry = pair.server.registry().unwrap();
    assert_eq!(registry.stats().tags, 2);
}
