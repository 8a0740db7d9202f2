//! Typed pushes: a router's casts are the topics a peer serves, and the
//! pushing side gets `<Router>Push` (through one session's handle, with its
//! priority and queue policy) and `<Router>Broadcast` (through the
//! registry, encoded once). A push to a topic the peer does not serve comes
//! back to the server's dead-letter queue.

mod common;

use common::{server_config, url, within};
use rpc::{
    Audience, Client, DeadLetterReason, Priority, PushPolicy, RegistryEvent, Server, testing,
};
use tokio::sync::mpsc;

/// What a bidder's client hears.
#[derive(Debug, PartialEq)]
enum Heard {
    Outbid { lot: String, price: u64 },
    Closed { lot: String },
}

/// The router a bidder's client mounts: the server pushes to it.
struct Bidder {
    heard: mpsc::UnboundedSender<Heard>,
}

#[rpc::router]
impl Bidder {
    /// Someone bid more on `lot`.
    #[rpc::cast]
    async fn outbid(&self, lot: String, price: u64) {
        let _ = self.heard.send(Heard::Outbid { lot, price });
    }

    #[rpc::cast(name = "auction.closed")]
    async fn closed(&self, lot: String) {
        let _ = self.heard.send(Heard::Closed { lot });
    }
}

/// A client that serves only `closed`: `outbid` is a topic it lacks.
struct Watcher;

#[rpc::router]
impl Watcher {
    #[rpc::cast(name = "auction.closed")]
    async fn closed(&self, lot: String) {
        let _ = lot;
    }
}

fn bidder() -> (Bidder, mpsc::UnboundedReceiver<Heard>) {
    let (heard, rx) = mpsc::unbounded_channel();
    (Bidder { heard }, rx)
}

#[tokio::test]
async fn a_push_stub_reaches_the_peers_cast_with_its_arguments() {
    let (router, mut heard) = bidder();
    let pair = testing::pair(Server::builder(), Client::builder().mount(router))
        .await
        .unwrap();
    let push = BidderPush::new(&pair.server.push_handle());
    within("push", push.outbid("lot-1".to_owned(), 7))
        .await
        .unwrap();
    assert_eq!(
        within("heard", heard.recv()).await.unwrap(),
        Heard::Outbid {
            lot: "lot-1".to_owned(),
            price: 7
        }
    );

    // Priority and policy are the handle's: a high-priority push that
    // fails rather than waits goes through an empty queue.
    let urgent = push
        .clone()
        .with_priority(Priority::High)
        .with_policy(PushPolicy::Fail);
    within("push", urgent.closed("lot-1".to_owned()))
        .await
        .unwrap();
    assert_eq!(
        within("heard", heard.recv()).await.unwrap(),
        Heard::Closed {
            lot: "lot-1".to_owned()
        }
    );
}

async fn connect_as(server: &Server, who: &str) -> (Client, mpsc::UnboundedReceiver<Heard>) {
    let (router, heard) = bidder();
    let client = within(
        "connect",
        Client::builder()
            .header("authorization", who)
            .mount(router)
            .connect(&url(server)),
    )
    .await
    .unwrap();
    (client, heard)
}

#[tokio::test]
async fn a_broadcast_stub_reaches_exactly_its_audience() {
    let server = Server::builder()
        .config(server_config())
        .authenticate(common::subject_from_header)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let mut joined = server.registry().events();
    let (_alice_phone, mut alice_phone) = connect_as(&server, "alice").await;
    let (_alice_laptop, mut alice_laptop) = connect_as(&server, "alice").await;
    let (_bob, mut bob) = connect_as(&server, "bob").await;
    // A client's connect returns on the server's `Welcome`, a moment before
    // its session joins the registry.
    for _ in 0..3 {
        let event = within("joined", joined.recv()).await.unwrap();
        assert!(matches!(event, RegistryEvent::Joined(_)), "{event:?}");
    }

    let to_alice = BidderBroadcast::new(server.registry(), Audience::Identity("alice"));
    let report = to_alice.outbid("lot-2".to_owned(), 40).unwrap();
    assert_eq!(report.reached, 2, "{report:?}");
    let outbid = Heard::Outbid {
        lot: "lot-2".to_owned(),
        price: 40,
    };
    assert_eq!(within("phone", alice_phone.recv()).await.unwrap(), outbid);
    assert_eq!(within("laptop", alice_laptop.recv()).await.unwrap(), outbid);

    // Bob's first message is the next broadcast to everyone: he never got
    // alice's.
    let everyone = BidderBroadcast::new(server.registry(), Audience::All);
    assert_eq!(everyone.closed("lot-2".to_owned()).unwrap().reached, 3);
    assert_eq!(
        within("bob", bob.recv()).await.unwrap(),
        Heard::Closed {
            lot: "lot-2".to_owned()
        }
    );
}

#[tokio::test]
async fn a_push_to_a_topic_the_peer_does_not_serve_comes_back_as_a_dead_letter() {
    let (letters_tx, mut letters) = mpsc::channel(8);
    let pair = testing::pair(
        Server::builder().dead_letters(letters_tx),
        Client::builder().mount(Watcher),
    )
    .await
    .unwrap();
    let push = BidderPush::new(&pair.server.push_handle());
    // Queued without error: the peer's answer comes later.
    within("push", push.outbid("lot-3".to_owned(), 1))
        .await
        .unwrap();
    let letter = within("dead letter", letters.recv()).await.unwrap();
    assert_eq!(letter.reason, DeadLetterReason::UnknownTopic);
    assert_eq!(letter.topic, "outbid");
    assert_eq!(letter.session_id, pair.server.id());
    assert!(letter.payload.is_empty());

    // A topic it serves is delivered, and reports nothing.
    within("push", push.closed("lot-3".to_owned()))
        .await
        .unwrap();
    within("push", push.outbid("lot-4".to_owned(), 2))
        .await
        .unwrap();
    let letter = within("dead letter", letters.recv()).await.unwrap();
    assert_eq!(letter.topic, "outbid", "no letter for `auction.closed`");
}
