//! Scale-out: servers that are nodes of one cluster through a real Redis
//! server (`redis-server`, started per test on a free port). Each `Server`
//! here has its own bus connection, so each is a node as a separate
//! process would be: broadcasts by room and identity and pushes by session
//! id reach sessions on every node, presence follows arrivals, departures
//! and a crashed node, and the broker going away and coming back is lived
//! through without restarting any node.

mod common;

#[path = "../examples/routers/mod.rs"]
#[allow(dead_code, reason = "the tests use the rooms and the command line")]
mod routers;

use std::time::Duration;

use common::{redis::Redis, within};
use routers::{
    rooms::{Rooms, RoomsClient},
    setup::Options,
};
use rpc::{
    Audience, Bus, BusDelivery, BusStatus, Client, Cluster, DeadLetter, DeadLetterReason, Identity,
    PresenceEntry, PresenceEvent, PushOptions, RedisBus, Server,
};
use tokio::sync::mpsc;

/// The client side of `said`: what a chat client serves.
struct Listener {
    said: mpsc::UnboundedSender<(String, String)>,
}

/// Receives the rooms' pushes.
#[rpc::router]
impl Listener {
    /// Topic `said`: `(room, text)`.
    #[rpc::cast]
    async fn said(&self, room: String, text: String) {
        let _ = self.said.send((room, text));
    }
}

/// A node `name` on `redis`, serving `Rooms`; its sessions' identity is
/// the `user` of the URL's query.
async fn node(name: &str, redis: &Redis, ttl: Duration) -> (Server, mpsc::Receiver<DeadLetter>) {
    let (dead, letters) = mpsc::channel(64);
    let bus = RedisBus::new(&redis.url())
        .unwrap()
        .timeout(Duration::from_secs(1));
    let server = Server::builder()
        .mount(Rooms)
        .authenticate(|request| {
            Ok(request
                .query()
                .and_then(|query| query.strip_prefix("user="))
                .map(Identity::new))
        })
        .dead_letters(dead)
        .cluster(
            Cluster::new(name, bus)
                .presence_ttl(ttl)
                .reconnect(rpc::ReconnectPolicy::fixed(Duration::from_millis(50))),
        )
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    within("the node connects", connected(&server)).await;
    (server, letters)
}

async fn connected(server: &Server) {
    let cluster = server.registry().cluster().expect("a node");
    cluster.wait_for(BusStatus::Connected).await;
}

/// What a user's client heard: (room, text) pairs.
type Heard = mpsc::UnboundedReceiver<(String, String)>;

/// A user connected to `server`, with what it receives on `said`.
async fn user(server: &Server, name: &str) -> (Client, Heard) {
    let (said, heard) = mpsc::unbounded_channel();
    let url = format!("ws://{}/?user={name}", server.local_addr().unwrap());
    let client = Client::builder()
        .mount(Listener { said })
        .connect(&url)
        .await
        .unwrap();
    (client, heard)
}

async fn heard(rx: &mut Heard) -> (String, String) {
    within("a push arrives", rx.recv())
        .await
        .expect("the client lives")
}

/// `client` joins `room` through the `Rooms` router of its node.
async fn join(client: &Client, room: &str) {
    within("join", RoomsClient::new(client.peer()).join(room.into()))
        .await
        .unwrap()
        .unwrap();
}

/// `client` says `text` in `room`; how many sessions of its own node heard.
async fn say(client: &Client, room: &str, text: &str) -> u64 {
    within(
        "say",
        RoomsClient::new(client.peer()).say(room.into(), text.into()),
    )
    .await
    .unwrap()
    .unwrap()
}

fn said(room: &str, text: &str) -> (String, String) {
    (room.to_owned(), text.to_owned())
}

/// `speaker` and `listener`, users of two nodes, join `room`; the
/// speaker's message reaches one session of its own node (the speaker's)
/// and, through the bus, both users.
async fn speak_across_nodes(
    (speaker, speaker_heard): (&Client, &mut Heard),
    (listener, listener_heard): (&Client, &mut Heard),
    room: &str,
    text: &str,
) {
    join(speaker, room).await;
    join(listener, room).await;
    assert_eq!(say(speaker, room, text).await, 1);
    assert_eq!(heard(speaker_heard).await, said(room, text));
    assert_eq!(heard(listener_heard).await, said(room, text));
}

const TTL: Duration = Duration::from_secs(15);

#[tokio::test]
async fn broadcasts_and_pushes_reach_sessions_on_every_node() {
    let redis = Redis::start().await;
    let (a, _) = node("a", &redis, TTL).await;
    let (b, _) = node("b", &redis, TTL).await;
    let (alice, mut alice_heard) = user(&a, "alice").await;
    let (bob, mut bob_heard) = user(&b, "bob").await;
    let (_carol, mut carol_heard) = user(&b, "carol").await;
    // Through the router: one session of node a reached here, bob on b
    // through the bus.
    speak_across_nodes(
        (&alice, &mut alice_heard),
        (&bob, &mut bob_heard),
        "rust",
        "hello",
    )
    .await;

    // The report says what was local and what went to the bus.
    let report = b
        .registry()
        .broadcast(Audience::Tag("room", "rust"), "said", &("rust", "from b"))
        .unwrap();
    assert_eq!((report.reached, report.bus), (1, BusDelivery::Handed));
    assert_eq!(heard(&mut alice_heard).await, said("rust", "from b"));
    assert_eq!(heard(&mut bob_heard).await, said("rust", "from b"));

    // By identity, from the node carol is not on; being first, it also
    // shows that the room's pushes did not reach her.
    let report = a
        .registry()
        .broadcast_with(
            Audience::Identity("carol"),
            "said",
            &("dm", "psst"),
            PushOptions::default().priority(rpc::Priority::High),
        )
        .unwrap();
    assert_eq!((report.reached, report.bus), (0, BusDelivery::Handed));
    assert_eq!(heard(&mut carol_heard).await, said("dm", "psst"));

    // By session id: presence tells where bob is.
    let cluster = a.registry().cluster().unwrap();
    let bob_at = within("presence has bob", async {
        let mut events = cluster.presence_events();
        loop {
            if let Some(entry) = cluster.lookup("bob").await.unwrap().pop() {
                return entry;
            }
            events.recv().await.unwrap();
        }
    })
    .await;
    assert_eq!(bob_at.node, "b");
    let report = a
        .registry()
        .push_to(
            &bob_at.node,
            bob_at.session_id,
            "said",
            &("direct", "hi bob"),
            PushOptions::default(),
        )
        .unwrap();
    assert_eq!(report.bus, BusDelivery::Handed);
    assert_eq!(heard(&mut bob_heard).await, said("direct", "hi bob"));
    // To a session of this node, directly.
    let alice_id = a.registry().find(Audience::Identity("alice"))[0].id();
    let report = a
        .registry()
        .push_to(
            "a",
            alice_id,
            "said",
            &("direct", "hi alice"),
            PushOptions::default(),
        )
        .unwrap();
    assert_eq!((report.reached, report.bus), (1, BusDelivery::Local));
    assert_eq!(heard(&mut alice_heard).await, said("direct", "hi alice"));
}

#[tokio::test]
async fn the_receiving_node_applies_its_own_limits_and_dead_letters() {
    let redis = Redis::start().await;
    let (a, _) = node("a", &redis, TTL).await;
    let (b, mut b_letters) = node("b", &redis, TTL).await;
    let (said_tx, mut small_heard) = mpsc::unbounded_channel();
    let small = Client::builder()
        .config(
            rpc::ClientConfig::default()
                .session(rpc::SessionConfig::default().max_message_size(1024)),
        )
        .mount(Listener { said: said_tx })
        .connect(&format!("ws://{}/?user=small", b.local_addr().unwrap()))
        .await
        .unwrap();
    join(&small, "rust").await;
    let small_id = b.registry().find(Audience::Identity("small"))[0].id();

    // Too large for the session's peer: b finds out, and the dead letter
    // is b's, for that session.
    let big = "x".repeat(4096);
    let report = a
        .registry()
        .broadcast_with(
            Audience::Tag("room", "rust"),
            "said",
            &("rust", &big),
            PushOptions::default().policy(rpc::PushPolicy::DeadLetter),
        )
        .unwrap();
    assert_eq!((report.reached, report.bus), (0, BusDelivery::Handed));
    let letter = within("b's dead letter", b_letters.recv()).await.unwrap();
    assert_eq!(letter.reason, DeadLetterReason::TooLarge);
    assert_eq!(letter.session_id, small_id);
    // What fits goes on arriving.
    a.registry()
        .broadcast(Audience::Tag("room", "rust"), "said", &("rust", "small"))
        .unwrap();
    assert_eq!(heard(&mut small_heard).await, said("rust", "small"));
}

#[tokio::test]
async fn presence_follows_sessions_and_forgets_a_crashed_node() {
    let redis = Redis::start().await;
    let ttl = Duration::from_secs(1);
    let (a, _) = node("a", &redis, ttl).await;
    let cluster = a.registry().cluster().unwrap();
    let mut events = cluster.presence_events();

    // Node b runs on a runtime of its own, so that dropping the runtime
    // stops it as a crash would: no task runs again, nothing is cleaned up.
    let url = redis.url();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (crash_tx, crash_rx) = std::sync::mpsc::channel::<()>();
    let (dave_gone_tx, dave_gone_rx) = tokio::sync::oneshot::channel::<()>();
    let b_thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.spawn(async move {
            let redis_url = url;
            let bus = RedisBus::new(&redis_url).unwrap();
            let b = Server::builder()
                .mount(Rooms)
                .authenticate(|request| {
                    Ok(request
                        .query()
                        .and_then(|query| query.strip_prefix("user="))
                        .map(Identity::new))
                })
                .cluster(Cluster::new("b", bus).presence_ttl(Duration::from_secs(1)))
                .bind("127.0.0.1:0")
                .await
                .unwrap();
            connected(&b).await;
            let (bob, _) = user(&b, "bob").await;
            let (dave, _) = user(&b, "dave").await;
            let _ = ready_tx.send(());
            let _ = dave_gone_rx.await;
            dave.close().await;
            std::future::pending::<()>().await;
            drop((b, bob));
        });
        crash_rx.recv().unwrap();
        drop(runtime);
    });
    within("node b starts", ready_rx).await.unwrap();

    let mut seen = Vec::new();
    while seen.len() < 2 {
        match within("presence events", events.recv()).await.unwrap() {
            PresenceEvent::Joined(entry) => seen.push(entry.subject),
            other => panic!("unexpected {other:?}"),
        }
    }
    seen.sort();
    assert_eq!(seen, ["bob", "dave"]);
    let bob = cluster.lookup("bob").await.unwrap();
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0].node, "b");

    // A session that leaves is announced.
    dave_gone_tx.send(()).unwrap();
    match within("dave leaves", events.recv()).await.unwrap() {
        PresenceEvent::Left(PresenceEntry { subject, node, .. }) => {
            assert_eq!((subject.as_str(), node.as_str()), ("dave", "b"));
        }
        other => panic!("unexpected {other:?}"),
    }

    // Node b crashes: within the TTL (and a refresh of a's), its sessions
    // leave presence.
    crash_tx.send(()).unwrap();
    let crashed = tokio::time::Instant::now();
    match within("b expires", events.recv()).await.unwrap() {
        PresenceEvent::NodeExpired { node } => assert_eq!(node, "b"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(crashed.elapsed() < ttl + ttl / 2, "{:?}", crashed.elapsed());
    assert!(cluster.lookup("bob").await.unwrap().is_empty());
    b_thread.join().unwrap();
}

#[tokio::test]
async fn a_node_that_shuts_down_leaves_presence_at_once() {
    let redis = Redis::start().await;
    let (a, _) = node("a", &redis, TTL).await;
    let (b, _) = node("b", &redis, TTL).await;
    let cluster = a.registry().cluster().unwrap();
    let mut events = cluster.presence_events();
    let (_bob, _) = user(&b, "bob").await;
    let bob = PresenceEntry::new("b", b.registry().find(Audience::All)[0].id(), "bob");
    assert_eq!(
        within("bob arrives", events.recv()).await.unwrap(),
        PresenceEvent::Joined(bob.clone())
    );
    within("b shuts down", b.shutdown()).await;
    assert_eq!(
        within("bob leaves", events.recv()).await.unwrap(),
        PresenceEvent::Left(bob)
    );
    assert!(cluster.presence().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_broker_going_away_dead_letters_then_its_return_restores_delivery() {
    let mut redis = Redis::start().await;
    let (a, mut a_letters) = node("a", &redis, TTL).await;
    let (b, _) = node("b", &redis, TTL).await;
    let (alice, mut alice_heard) = user(&a, "alice").await;
    let (bob, mut bob_heard) = user(&b, "bob").await;
    join(&alice, "rust").await;
    join(&bob, "rust").await;
    say(&alice, "rust", "before").await;
    assert_eq!(heard(&mut bob_heard).await, said("rust", "before"));
    assert_eq!(heard(&mut alice_heard).await, said("rust", "before"));

    redis.kill().await;
    let a_cluster = a.registry().cluster().unwrap();
    within("a notices", a_cluster.wait_for(BusStatus::Disconnected)).await;
    within(
        "b notices",
        b.registry()
            .cluster()
            .unwrap()
            .wait_for(BusStatus::Disconnected),
    )
    .await;

    // Local delivery goes on; what needed the bus is a dead letter.
    let report = a
        .registry()
        .broadcast(
            Audience::Tag("room", "rust"),
            "said",
            &("rust", "while away"),
        )
        .unwrap();
    assert_eq!((report.reached, report.bus), (1, BusDelivery::Unavailable));
    assert_eq!(heard(&mut alice_heard).await, said("rust", "while away"));
    let letter = within("a dead letter", a_letters.recv()).await.unwrap();
    assert_eq!(letter.reason, DeadLetterReason::BusUnavailable);
    assert_eq!(letter.topic, "said");
    assert_eq!(
        postcard::from_bytes::<(String, String)>(&letter.payload).unwrap(),
        said("rust", "while away")
    );
    assert!(a_cluster.presence().await.unwrap_err().is_unavailable());

    // The broker comes back: both nodes reconnect and resubscribe.
    redis.restart().await;
    within("a reconnects", connected(&a)).await;
    within("b reconnects", connected(&b)).await;
    say(&alice, "rust", "after").await;
    assert_eq!(heard(&mut bob_heard).await, said("rust", "after"));
    assert_eq!(heard(&mut alice_heard).await, said("rust", "after"));
}

#[tokio::test]
async fn a_full_publish_queue_turns_pushes_into_dead_letters() {
    let redis = Redis::start().await;
    let (dead, mut letters) = mpsc::channel(64);
    let bus = RedisBus::new(&redis.url()).unwrap();
    let server = Server::builder()
        .dead_letters(dead)
        .cluster(Cluster::new("a", bus).publish_queue(1))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    within("connected", connected(&server)).await;
    // On this single-threaded runtime the bus task cannot publish between
    // these two: the first fills the queue, the second finds it full.
    let registry = server.registry();
    let first = registry
        .broadcast(Audience::All, "said", &("x", "1"))
        .unwrap();
    let second = registry
        .broadcast(Audience::All, "said", &("x", "2"))
        .unwrap();
    assert_eq!(first.bus, BusDelivery::Handed);
    assert_eq!(second.bus, BusDelivery::Full);
    let letter = within("a dead letter", letters.recv()).await.unwrap();
    assert_eq!(letter.reason, DeadLetterReason::BusFull);
    assert_eq!(letter.session_id, 0);
}

#[tokio::test]
async fn a_broker_that_never_answers_times_out() {
    // Accepts connections and says nothing.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", silent.local_addr().unwrap());
    let _held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let bus = RedisBus::new(&url)
        .unwrap()
        .timeout(Duration::from_millis(200));
    let started = tokio::time::Instant::now();
    let Err(err) = within("connect", bus.connect(&["all".to_owned()])).await else {
        panic!("a silent broker connected");
    };
    assert!(started.elapsed() < Duration::from_secs(2), "{err}");
    let server = Server::builder()
        .cluster(Cluster::new("a", bus))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    // It keeps trying, and meanwhile nothing is handed over.
    assert_eq!(
        server.registry().cluster().unwrap().status(),
        BusStatus::Connecting
    );
    let report = server
        .registry()
        .broadcast(Audience::All, "said", &("x", "y"))
        .unwrap();
    assert_eq!(report.bus, BusDelivery::Unavailable);
}

/// The `server` example with `--redis` and `--node`, twice: `say` on one
/// reaches the room on the other.
#[tokio::test]
async fn the_example_servers_rooms_span_their_nodes() {
    let redis = Redis::start().await;
    let start = |node: &str| {
        let args = ["127.0.0.1:0", "--redis", &redis.url(), "--node", node].map(str::to_owned);
        let options = Options::parse(args).expect("the flags parse");
        async move { options.builder().bind(options.addr.as_str()).await.unwrap() }
    };
    let (one, two) = (start("one").await, start("two").await);
    within("both connect", async {
        connected(&one).await;
        connected(&two).await;
    })
    .await;
    assert_eq!(one.registry().cluster().unwrap().node(), "one");
    let (ann, mut ann_heard) = user(&one, "ann").await;
    let (ben, mut ben_heard) = user(&two, "ben").await;
    speak_across_nodes(
        (&ben, &mut ben_heard),
        (&ann, &mut ann_heard),
        "ops",
        "deploying",
    )
    .await;
}

#[test]
fn the_example_refuses_a_node_without_a_bus() {
    let args = ["--node", "one"].map(str::to_owned);
    let complaint = Options::parse(args).unwrap_err();
    assert!(complaint.contains("--node"), "{complaint}");
}

#[tokio::test]
async fn undecodable_bus_messages_cost_a_few_log_lines_and_delivery_goes_on() {
    let redis = Redis::start().await;
    let logs = common::logs::logged(async {
        let (a, _) = node("a", &redis, TTL).await;
        let (b, _) = node("b", &redis, TTL).await;
        let (alice, _alice_heard) = user(&a, "alice").await;
        let (bob, mut bob_heard) = user(&b, "bob").await;
        join(&alice, "rust").await;
        join(&bob, "rust").await;
        // Whatever else shares the broker publishes 200 messages no node
        // can decode (a varint that never ends), before alice speaks: the
        // broker delivers them to b first.
        let garbage = format!("\"{}\"", "\\xff".repeat(16));
        redis.publish("wsduplex:all", &garbage, 200).await;
        say(&alice, "rust", "still here").await;
        assert_eq!(heard(&mut bob_heard).await, said("rust", "still here"));
    })
    .await;
    let b_lines = logs
        .lines()
        .filter(|line| line.contains("bus message dropped") && line.contains("node=\"b\""))
        .count();
    assert!(
        (1..=10).contains(&b_lines),
        "node b logged {b_lines} lines for 200 undecodable messages:\n{logs}"
    );
}
