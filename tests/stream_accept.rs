//! A stream's open returns once the callee accepted it: the handler ran and
//! returned its stream (so what it subscribed to is not missed), or refused
//! with an error the open returns. On the wire that is the `Accepted` frame
//! of the `stream-accepted` feature, which peers that do not speak it are
//! neither sent nor waited for.

mod common;

use std::{sync::Arc, time::Duration};

use common::{
    raw::{self, RawWs},
    server_config, url, within,
};
use futures_util::{SinkExt, Stream, StreamExt, stream};
use rpc::{
    Client, Error, Server, StreamOptions, codec,
    protocol::{
        Accepted, Features, Frame, Hello, Open, PROTOCOL_VERSION, Side, StreamRef, close_code,
    },
    testing::{FakePeer, FakeServer},
};
use tokio::sync::{Notify, broadcast, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

struct Auction {
    bids: broadcast::Sender<u64>,
    /// Told when `slow` starts, and waited on before it answers.
    started: mpsc::UnboundedSender<()>,
    gate: Arc<Notify>,
    /// Told when the handler of `never` is dropped (cancelled).
    dropped: mpsc::UnboundedSender<()>,
}

struct DropSignal(mpsc::UnboundedSender<()>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[rpc::router]
impl Auction {
    /// Subscribes, then streams every bid from then on.
    #[rpc::stream]
    fn bids(&self) -> impl Stream<Item = u64> + Send + 'static {
        let bids = self.bids.subscribe();
        stream::unfold(bids, |mut bids| async move {
            bids.recv().await.ok().map(|bid| (bid, bids))
        })
    }

    /// Answers once the test opens the gate.
    #[rpc::stream]
    async fn slow(&self) -> impl Stream<Item = u64> + Send + 'static {
        let _ = self.started.send(());
        self.gate.notified().await;
        stream::iter([1])
    }

    /// Never returns its stream.
    #[rpc::stream]
    async fn never(&self) -> impl Stream<Item = u64> + Send + 'static {
        let _signal = DropSignal(self.dropped.clone());
        std::future::pending::<()>().await;
        stream::empty()
    }
}

struct Setup {
    server: Server,
    bids: broadcast::Sender<u64>,
    started: mpsc::UnboundedReceiver<()>,
    gate: Arc<Notify>,
    dropped: mpsc::UnboundedReceiver<()>,
}

async fn setup() -> Setup {
    let (bids, _) = broadcast::channel(16);
    let (started_tx, started) = mpsc::unbounded_channel();
    let (dropped_tx, dropped) = mpsc::unbounded_channel();
    let gate = Arc::new(Notify::new());
    let auction = Auction {
        bids: bids.clone(),
        started: started_tx,
        gate: Arc::clone(&gate),
        dropped: dropped_tx,
    };
    let server = Server::builder()
        .config(server_config())
        .mount(auction)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    Setup {
        server,
        bids,
        started,
        gate,
        dropped,
    }
}

async fn client(server: &Server) -> AuctionClient {
    let client = within("connect", Client::connect(&url(server)))
        .await
        .unwrap();
    AuctionClient::new(client.peer())
}

#[tokio::test]
async fn an_event_published_as_soon_as_the_open_returns_is_delivered() {
    let t = setup().await;
    let auction = client(&t.server).await;
    // Before `Accepted`, half of these were lost: the stub returned before
    // the handler subscribed.
    for price in 0..50 {
        let mut bids = within("open", auction.bids()).await.unwrap();
        t.bids.send(price).expect("the handler has subscribed");
        assert_eq!(within("bid", bids.next()).await.unwrap().unwrap(), price);
    }
}

#[tokio::test]
async fn the_open_waits_until_the_handler_returns_its_stream() {
    let mut t = setup().await;
    let auction = client(&t.server).await;
    let mut open = std::pin::pin!(auction.slow());
    tokio::select! {
        biased;
        _ = &mut open => panic!("the open returned before the handler ran"),
        _ = t.started.recv() => {}
    }
    // The handler runs and waits at the gate; the open must still wait.
    tokio::select! {
        biased;
        _ = &mut open => panic!("the open returned before the handler returned its stream"),
        () = tokio::task::yield_now() => {}
    }
    t.gate.notify_one();
    let mut items = within("open", open).await.unwrap();
    assert_eq!(within("item", items.next()).await.unwrap().unwrap(), 1);
}

#[tokio::test]
async fn an_open_not_accepted_in_time_times_out_and_cancels_the_handler() {
    let mut t = setup().await;
    let auction = client(&t.server).await;
    let limit = Duration::from_millis(100);
    let err = within(
        "open",
        auction.never_with(StreamOptions::default().idle_timeout(limit)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Timeout(d) if d == limit), "{err:?}");
    within("handler cancelled", t.dropped.recv()).await.unwrap();
}

/// A raw client asking for `features`; returns the features granted.
async fn raw_client(server: &Server, features: Vec<String>) -> (RawWs, Vec<String>) {
    let mut ws = raw::upgrade(server.local_addr().unwrap()).await;
    let hello = Frame::Hello(Hello {
        min_version: PROTOCOL_VERSION,
        max_version: PROTOCOL_VERSION,
        features,
        limits: raw::UNLIMITED,
    });
    ws.send(Message::Binary(codec::encode(&hello).unwrap()))
        .await
        .unwrap();
    let welcome = raw::next_binary(&mut ws).await;
    let Frame::Welcome(welcome) = codec::decode(&welcome, usize::MAX).unwrap().frame else {
        panic!("expected a welcome");
    };
    (ws, welcome.features)
}

async fn open_bids(ws: &mut RawWs, id: u64) {
    let open = Frame::Open(Open {
        id,
        method: "bids",
        headers: Vec::new(),
        credit: 8,
    });
    ws.send(Message::Binary(codec::encode_with(&open, &()).unwrap()))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_peer_asking_for_the_feature_is_sent_accepted_before_the_items() {
    let t = setup().await;
    let (mut ws, granted) = raw_client(
        &t.server,
        vec![
            "compression-someday".to_owned(),
            Features::STREAM_ACCEPTED.to_owned(),
        ],
    )
    .await;
    assert_eq!(granted, [Features::STREAM_ACCEPTED]);
    open_bids(&mut ws, 5).await;
    let first = raw::next_binary(&mut ws).await;
    assert_eq!(
        codec::decode(&first, usize::MAX).unwrap().frame,
        Frame::Accepted(Accepted { id: 5 })
    );
    t.bids.send(9).unwrap();
    let item = raw::next_binary(&mut ws).await;
    let decoded = codec::decode(&item, usize::MAX).unwrap();
    assert_eq!(
        decoded.frame,
        Frame::Item(StreamRef {
            id: 5,
            to: Side::Caller
        })
    );
    assert_eq!(codec::decode_value::<u64>(&decoded.payload).unwrap(), 9);
}

#[tokio::test]
async fn a_peer_not_asking_for_the_feature_gets_items_only() {
    let t = setup().await;
    let (mut ws, granted) = raw_client(&t.server, Vec::new()).await;
    assert!(granted.is_empty());
    open_bids(&mut ws, 5).await;
    // The server runs on this test's thread: it makes progress whenever
    // the test yields.
    within("subscribed", async {
        while t.bids.receiver_count() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    t.bids.send(9).unwrap();
    let first = raw::next_binary(&mut ws).await;
    assert_eq!(
        codec::decode(&first, usize::MAX).unwrap().frame,
        Frame::Item(StreamRef {
            id: 5,
            to: Side::Caller
        }),
        "the first frame is the item, with no `Accepted` before it"
    );
}

/// Our client against a fake server that grants `features`: the fake's
/// socket, and the client's open of `bids` in flight.
async fn open_against_fake(
    features: Vec<String>,
) -> (
    FakePeer,
    Client,
    oneshot::Receiver<Result<rpc::Incoming<u64>, Error>>,
) {
    let server = FakeServer::bind().await.features(features);
    let url = server.url();
    let (fake, client) = tokio::join!(server.accept(), Client::connect(&url));
    let client = client.unwrap();
    let peer = client.peer().clone();
    let (opened, result) = oneshot::channel();
    tokio::spawn(async move {
        let _ = opened.send(peer.open("bids", &(), StreamOptions::default()).await);
    });
    (fake, client, result)
}

/// The fake server reads the client's `Open`; returns its id.
async fn read_open(fake: &mut FakePeer) -> u64 {
    let received = fake.expect_frame().await;
    match received.frame() {
        Frame::Open(open) => open.id,
        other => panic!("expected an open, got {other:?}"),
    }
}

#[tokio::test]
async fn an_answer_without_accepted_still_opens_the_stream() {
    let (mut fake, _client, opened) =
        open_against_fake(vec![Features::STREAM_ACCEPTED.to_owned()]).await;
    let id = read_open(&mut fake).await;
    let item = Frame::Item(StreamRef {
        id,
        to: Side::Caller,
    });
    fake.send(&item, &42u64).await;
    let mut items = within("open", opened).await.unwrap().unwrap();
    assert_eq!(within("item", items.next()).await.unwrap().unwrap(), 42);
}

#[tokio::test]
async fn accepted_twice_closes_with_1002() {
    let (mut fake, client, opened) =
        open_against_fake(vec![Features::STREAM_ACCEPTED.to_owned()]).await;
    let id = read_open(&mut fake).await;
    fake.send(&Frame::Accepted(Accepted { id }), &()).await;
    let _items = within("open", opened).await.unwrap().unwrap();
    fake.send(&Frame::Accepted(Accepted { id }), &()).await;
    let closed = fake.closed().await;
    let (code, reason) = (closed.code, closed.reason);
    assert_eq!(code, close_code::PROTOCOL);
    assert!(reason.contains("accepted twice"), "{reason}");
    within("client closed", client.session().closed()).await;
}

#[tokio::test]
async fn accepted_without_the_feature_closes_with_1002() {
    let (mut fake, _client, opened) = open_against_fake(Vec::new()).await;
    let id = read_open(&mut fake).await;
    // Without the feature the client does not wait for `Accepted`.
    let _items = within("open", opened).await.unwrap().unwrap();
    fake.send(&Frame::Accepted(Accepted { id }), &()).await;
    let closed = fake.closed().await;
    let (code, reason) = (closed.code, closed.reason);
    assert_eq!(code, close_code::PROTOCOL);
    assert!(reason.contains("stream-accepted"), "{reason}");
}
