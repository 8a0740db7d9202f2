//! The reconnecting client against real servers on 127.0.0.1 that are
//! stopped and started again on the same port inside each test.

mod common;

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::{FnRouter, proxy::Proxy, server_config, within};
use rpc::{
    CallOptions, Caller, Client, ClientConfig, ConnectError, ConnectionEvent, ConnectionEvents,
    ConnectionState, Delivery, Error, ReconnectPolicy, ReconnectingClient, Refusal, Server,
    StreamOptions, WhileDisconnected, stub::StreamExt,
};
use tokio::sync::{mpsc, oneshot};

/// Quick retries, so that a restart is noticed in milliseconds.
fn quick() -> ReconnectPolicy {
    ReconnectPolicy::fixed(Duration::from_millis(20))
}

fn calculator() -> FnRouter {
    FnRouter::new("Calculator").call("add", |req| async move {
        let (a, b): (i64, i64) = req.args()?;
        req.reply(&(a + b))
    })
}

async fn serve_at(addr: SocketAddr, router: FnRouter) -> Server {
    Server::builder()
        .config(server_config())
        .mount(router.finished())
        .bind(addr)
        .await
        .expect("the port is free again")
}

fn reconnecting() -> rpc::ReconnectingBuilder {
    Client::builder()
        .config(ClientConfig::default().session(common::session_config()))
        .reconnect()
        .policy(quick())
}

/// Reads events until one matches.
async fn until(
    events: &mut ConnectionEvents,
    what: &str,
    wanted: impl Fn(&ConnectionEvent) -> bool,
) -> ConnectionEvent {
    within(what, async {
        loop {
            let event = events.next().await.expect("the client is alive");
            if wanted(&event) {
                return event;
            }
        }
    })
    .await
}

async fn connected(events: &mut ConnectionEvents) -> ConnectionEvent {
    until(events, "a connection", |e| {
        matches!(e, ConnectionEvent::Connected { .. })
    })
    .await
}

#[tokio::test]
async fn a_stub_keeps_working_across_a_server_restart() {
    let server = common::serve(calculator()).await;
    let addr = server.local_addr().unwrap();
    let client = reconnecting().start(&common::url(&server)).unwrap();
    let mut events = client.events();
    assert!(matches!(
        connected(&mut events).await,
        ConnectionEvent::Connected { resumed: false, .. }
    ));
    let sum: i64 = client.call("add", &(1_i64, 2_i64)).await.unwrap();
    assert_eq!(sum, 3);

    server.shutdown().await;
    until(&mut events, "the drop", |e| {
        matches!(e, ConnectionEvent::Disconnected { .. })
    })
    .await;
    until(&mut events, "a retry", |e| {
        matches!(e, ConnectionEvent::Reconnecting { .. })
    })
    .await;
    assert!(matches!(
        client.state(),
        ConnectionState::Reconnecting { .. }
    ));

    let _server = serve_at(addr, calculator()).await;
    // The call waits for the connection instead of failing.
    let sum: i64 = within(
        "a call after the restart",
        client.call("add", &(2_i64, 3_i64)),
    )
    .await
    .unwrap();
    assert_eq!(sum, 5);
    assert!(matches!(
        connected(&mut events).await,
        ConnectionEvent::Connected { resumed: true, .. }
    ));
    assert_eq!(client.state(), ConnectionState::Connected);
}

#[tokio::test]
async fn calls_fail_at_once_while_disconnected_when_asked() {
    let server = common::serve(calculator()).await;
    let client = reconnecting()
        .while_disconnected(WhileDisconnected::FailFast)
        .start(&common::url(&server))
        .unwrap();
    client.connected(Duration::from_secs(5)).await.unwrap();
    server.shutdown().await;
    let mut events = client.events();
    until(&mut events, "a retry", |e| {
        matches!(e, ConnectionEvent::Reconnecting { .. })
    })
    .await;
    let err = client
        .call::<_, i64>("add", &(1_i64, 1_i64))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Disconnected), "{err:?}");
    assert!(err.is_retryable() && !err.is_indeterminate());
}

#[tokio::test]
async fn a_waiting_call_gives_up_at_its_timeout_unsent() {
    let server = common::serve(calculator()).await;
    let client = reconnecting().start(&common::url(&server)).unwrap();
    client.connected(Duration::from_secs(5)).await.unwrap();
    server.shutdown().await;
    let options = CallOptions::default().timeout(Duration::from_millis(200));
    let started = tokio::time::Instant::now();
    let err = within(
        "the timed call",
        client.call_with::<_, i64>("add", &(1_i64, 1_i64), options),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Disconnected), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

/// A server whose `hold` handler tells the test it started, then waits to
/// be released; it counts its runs and hands out its sessions.
struct Holding {
    runs: Arc<AtomicUsize>,
    started: mpsc::UnboundedReceiver<(rpc::Session, oneshot::Sender<()>)>,
}

fn holding() -> (FnRouter, Holding) {
    let runs = Arc::new(AtomicUsize::new(0));
    let (tx, started) = mpsc::unbounded_channel();
    let counted = Arc::clone(&runs);
    let router = FnRouter::new("Hold").call("hold", move |req| {
        let (tx, runs) = (tx.clone(), Arc::clone(&counted));
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            let (release, released) = oneshot::channel();
            let _ = tx.send((req.session().clone(), release));
            let _ = released.await;
            req.reply(&7_u64)
        }
    });
    (router, Holding { runs, started })
}

#[tokio::test]
async fn a_call_in_flight_when_the_link_drops_is_indeterminate_and_not_retried() {
    let (router, mut hold) = holding();
    let server = common::serve(router).await;
    let client = reconnecting().start(&common::url(&server)).unwrap();
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.call::<_, u64>("hold", &()).await }
    });
    let (session, _release) = within("the call to arrive", hold.started.recv())
        .await
        .unwrap();
    session.peer().close();
    let err = within("the call to fail", call).await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Indeterminate(_)), "{err:?}");
    assert!(err.is_indeterminate() && !err.is_retryable());
    // The client reconnects, and nothing sent the call again.
    client.connected(Duration::from_secs(5)).await.unwrap();
    assert_eq!(hold.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_idempotent_call_cut_off_is_sent_again_and_runs_once() {
    let (router, mut hold) = holding();
    let server = common::serve(router).await;
    let client = reconnecting().start(&common::url(&server)).unwrap();
    let call = tokio::spawn({
        let client = client.clone();
        async move {
            let options = CallOptions::default().idempotent();
            client.call_with::<_, u64>("hold", &(), options).await
        }
    });
    let (session, release) = within("the call to arrive", hold.started.recv())
        .await
        .unwrap();
    session.peer().close();
    // The client reconnects and sends the call again under the same
    // operation id: the server attaches it to the run still going.
    let mut events = client.events();
    connected(&mut events).await;
    release.send(()).unwrap();
    let answer = within("the retried call", call).await.unwrap().unwrap();
    assert_eq!(answer, 7);
    assert_eq!(hold.runs.load(Ordering::SeqCst), 1, "the handler ran once");
}

/// A ledger whose deposits wait at a gate the test opens.
struct Ledger {
    runs: Arc<AtomicUsize>,
    arrived: mpsc::UnboundedSender<rpc::Session>,
    gate: Arc<tokio::sync::Semaphore>,
}

#[rpc::router]
impl Ledger {
    /// Deposits `amount` once, however often the call is sent.
    #[rpc::call(idempotent)]
    async fn deposit(&self, session: &rpc::Session, amount: u64) -> u64 {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let _ = self.arrived.send(session.clone());
        self.gate
            .acquire()
            .await
            .expect("the gate stays open")
            .forget();
        amount
    }
}

#[tokio::test]
async fn a_stub_s_idempotent_method_survives_a_dropped_link() {
    let (arrived, mut arrivals) = mpsc::unbounded_channel();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let runs = Arc::new(AtomicUsize::new(0));
    let ledger = Ledger {
        runs: Arc::clone(&runs),
        arrived,
        gate: Arc::clone(&gate),
    };
    let server = Server::builder()
        .config(server_config())
        .mount(ledger)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let client = reconnecting().start(&common::url(&server)).unwrap();
    let stub = LedgerClient::new(&client);
    let deposit = tokio::spawn({
        let stub = stub.clone();
        async move { stub.deposit(5).await }
    });
    let session = within("the deposit to arrive", arrivals.recv())
        .await
        .unwrap();
    let mut events = client.events();
    session.peer().close();
    connected(&mut events).await;
    gate.add_permits(1);
    assert_eq!(within("the deposit", deposit).await.unwrap().unwrap(), 5);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // The same stub goes on working on the new connection.
    gate.add_permits(1);
    assert_eq!(stub.deposit(6).await.unwrap(), 6);
}

#[tokio::test]
async fn a_half_open_link_is_noticed_by_the_heartbeat_and_replaced() {
    let (router, mut hold) = holding();
    let router = router.call("add", |req| async move {
        let (a, b): (i64, i64) = req.args()?;
        req.reply(&(a + b))
    });
    let server = common::serve(router).await;
    let proxy = Proxy::start(server.local_addr().unwrap()).await;
    let (interval, timeout) = (Duration::from_millis(100), Duration::from_millis(200));
    let session = common::session_config()
        .ping_interval(Some(interval))
        .pong_timeout(timeout);
    let client = Client::builder()
        .config(ClientConfig::default().session(session))
        .reconnect()
        .policy(quick())
        .start(&format!("ws://{}", proxy.addr()))
        .unwrap();
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.call::<_, u64>("hold", &()).await }
    });
    let (_session, _release) = within("the call to arrive", hold.started.recv())
        .await
        .unwrap();
    // The link stays open and carries nothing: only the heartbeat can tell.
    let frozen_at = tokio::time::Instant::now();
    proxy.freeze();
    let err = within("the call to fail", call).await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Indeterminate(_)), "{err:?}");
    let noticed = frozen_at.elapsed();
    // Within the next ping and its timeout, with room for a busy machine.
    assert!(
        noticed < interval + timeout + Duration::from_secs(1),
        "{noticed:?}"
    );
    // The new connection goes through the proxy too, and is carried.
    let sum: i64 = within(
        "a call on the new link",
        client.call("add", &(1_i64, 2_i64)),
    )
    .await
    .unwrap();
    assert_eq!(sum, 3);
}

#[tokio::test]
async fn an_authentication_refusal_is_final_and_says_why() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&attempts);
    let server = Server::builder()
        .config(server_config())
        .mount(calculator().finished())
        .authenticate(move |_request| {
            counted.fetch_add(1, Ordering::SeqCst);
            Err(Refusal::unauthorized("token expired"))
        })
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let client = reconnecting().start(&common::url(&server)).unwrap();
    let mut events = client.events();
    let closed = until(&mut events, "the end", |e| {
        matches!(e, ConnectionEvent::Closed { .. })
    })
    .await;
    let ConnectionEvent::Closed { error: Some(error) } = closed else {
        panic!("{closed:?}")
    };
    assert!(
        matches!(&*error, ConnectError::Refused { status: 401, body: Some(body) } if body.contains("token expired")),
        "{error:?}"
    );
    assert_eq!(client.state(), ConnectionState::Closed);
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "a refusal is not retried"
    );
    let err = client
        .call::<_, i64>("add", &(1_i64, 1_i64))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Closed(_)), "{err:?}");
}

#[tokio::test]
async fn credentials_are_asked_for_at_every_connection() {
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let authenticate = move |request: &rpc::UpgradeRequest| {
        let _ = seen_tx.send(request.header("authorization").map(str::to_owned));
        common::subject_from_header(request)
    };
    let server = Server::builder()
        .config(server_config())
        .mount(calculator().finished())
        .authenticate(authenticate.clone())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let issued = Arc::new(AtomicUsize::new(0));
    let client = Client::builder()
        .credentials(move || {
            let token = issued.fetch_add(1, Ordering::SeqCst) + 1;
            async move { vec![("authorization".to_owned(), format!("token-{token}"))] }
        })
        .reconnect()
        .policy(quick())
        .start(&common::url(&server))
        .unwrap();
    let _: i64 = client.call("add", &(1_i64, 1_i64)).await.unwrap();
    assert_eq!(seen.recv().await.unwrap().as_deref(), Some("token-1"));
    server.shutdown().await;
    let _server = Server::builder()
        .config(server_config())
        .mount(calculator().finished())
        .authenticate(authenticate)
        .bind(addr)
        .await
        .unwrap();
    let _: i64 = within(
        "a call after the restart",
        client.call("add", &(1_i64, 1_i64)),
    )
    .await
    .unwrap();
    // Attempts made while the server was down asked for tokens too; the
    // one the new server saw is fresh.
    let token = seen.recv().await.unwrap().unwrap();
    assert_ne!(token, "token-1");
}

#[tokio::test]
async fn routers_mounted_on_the_client_serve_every_new_session() {
    let (lobby, mut sessions) = FnRouter::new("Lobby").join_hands_out_sessions();
    let server = common::serve(lobby).await;
    let addr = server.local_addr().unwrap();
    let client = Client::builder()
        .mount(
            FnRouter::new("Phone")
                .call("ring", |req| async move { req.reply(&"hello") })
                .finished(),
        )
        .reconnect()
        .policy(quick())
        .on_connected(|peer| async move { peer.call::<_, ()>("join", &()).await })
        .start(&common::url(&server))
        .unwrap();
    let first = within("the first join", sessions.recv()).await.unwrap();
    let answer: String = first.peer().call("ring", &()).await.unwrap();
    assert_eq!(answer, "hello");

    server.shutdown().await;
    let (lobby, mut sessions) = FnRouter::new("Lobby").join_hands_out_sessions();
    let _server = serve_at(addr, lobby).await;
    // The hook joined again on the new session, which reaches the router.
    let second = within("the join after the restart", sessions.recv())
        .await
        .unwrap();
    assert!(first.peer().is_closed());
    let answer: String = second.peer().call("ring", &()).await.unwrap();
    assert_eq!(answer, "hello");
    drop(client);
}

#[tokio::test]
async fn it_gives_up_after_the_policy_s_attempts() {
    // A port nobody listens on.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let client = Client::builder()
        .reconnect()
        .policy(quick().max_attempts(3))
        .start(&format!("ws://{addr}"))
        .unwrap();
    let mut events = client.events();
    let mut retries = Vec::new();
    let error = loop {
        match within("the next event", events.next()).await.unwrap() {
            ConnectionEvent::Reconnecting { attempt, error, .. } => {
                assert!(
                    matches!(error.as_deref(), Some(ConnectError::Io(_))),
                    "{error:?}"
                );
                retries.push(attempt);
            }
            ConnectionEvent::Closed { error } => break error,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(retries, [1, 2, 3]);
    assert!(
        matches!(error.as_deref(), Some(ConnectError::Io(_))),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_failing_on_connected_hook_counts_as_a_failed_attempt() {
    let server = common::serve(calculator()).await;
    let hooks = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hooks);
    let client = Client::builder()
        .reconnect()
        .policy(quick().max_attempts(2))
        .on_connected(move |_peer| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Err(Error::Disconnected) }
        })
        .start(&common::url(&server))
        .unwrap();
    let mut events = client.events();
    let closed = until(&mut events, "the end", |e| {
        !matches!(e, ConnectionEvent::Reconnecting { .. })
    })
    .await;
    assert!(
        matches!(closed, ConnectionEvent::Closed { .. }),
        "never connected: {closed:?}"
    );
    // The first connection and two more attempts.
    assert_eq!(hooks.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_subscription_opens_again_with_a_gap_marker() {
    let (items_tx, _) = tokio::sync::broadcast::channel::<u32>(16);
    let feed = items_tx.clone();
    let (lobby, mut sessions) = FnRouter::new("Feed").join_hands_out_sessions();
    let router = lobby.stream("follow", move |req| {
        let items = feed.subscribe();
        async move {
            let items = futures_util::stream::unfold(items, |mut items| async move {
                let item = items.recv().await.ok()?;
                Some((item, items))
            });
            req.send_stream(items).await
        }
    });
    let server = common::serve(router).await;
    let client = reconnecting()
        .on_connected(|peer| async move { peer.call::<_, ()>("join", &()).await })
        .start(&common::url(&server))
        .unwrap();
    let mut follow = client.subscribe::<_, u32>("follow", (), StreamOptions::default());
    let session = within("the join", sessions.recv()).await.unwrap();
    // Once the handler subscribed, every item reaches the stream.
    send_until_received(&items_tx, &mut follow, 1).await;
    session.peer().close();
    within("the new session", sessions.recv()).await.unwrap();
    let gap = within("the gap", follow.next()).await.unwrap().unwrap();
    assert_eq!(gap, Delivery::Gap);
    send_until_received(&items_tx, &mut follow, 2).await;
}

/// Sends `item` until the subscription yields it: the subscription opens
/// in the background, so the test cannot know when the handler has
/// subscribed to the feed; items sent before that reach nobody.
async fn send_until_received(
    items: &tokio::sync::broadcast::Sender<u32>,
    follow: &mut rpc::Subscription<u32>,
    item: u32,
) {
    within("the item", async {
        loop {
            let _ = items.send(item);
            if let Ok(Some(delivery)) =
                tokio::time::timeout(Duration::from_millis(50), follow.next()).await
            {
                assert_eq!(delivery.unwrap(), Delivery::Item(item));
                return;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn dropping_every_handle_closes_the_connection() {
    let server = common::serve(calculator()).await;
    let client = reconnecting().start(&common::url(&server)).unwrap();
    client.connected(Duration::from_secs(5)).await.unwrap();
    common::connections_become(&server, 1).await;
    drop(client);
    common::connections_become(&server, 0).await;
}

#[tokio::test]
async fn close_ends_it_for_good() {
    let server = common::serve(calculator()).await;
    let client = reconnecting().start(&common::url(&server)).unwrap();
    let mut events = client.events();
    client.connected(Duration::from_secs(5)).await.unwrap();
    within("close", client.close()).await;
    assert_eq!(client.state(), ConnectionState::Closed);
    until(&mut events, "the end", |e| {
        matches!(e, ConnectionEvent::Closed { error: None })
    })
    .await;
    let err = client
        .call::<_, i64>("add", &(1_i64, 1_i64))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Closed(_)), "{err:?}");
    common::connections_become(&server, 0).await;
}

#[tokio::test]
async fn a_reconnecting_client_is_a_caller_for_stubs() {
    fn assert_caller<C: Caller>(_: &C) {}
    let server = common::serve(calculator()).await;
    let client: ReconnectingClient = reconnecting().start(&common::url(&server)).unwrap();
    assert_caller(&client);
    let sum: i64 = client
        .call_with("add", &(2_i64, 2_i64), CallOptions::default())
        .await
        .unwrap();
    assert_eq!(sum, 4);
}
