//! `#[rpc::stream]` end to end over real sockets on 127.0.0.1: server,
//! client and bidirectional streams through the generated stubs, typed
//! errors (a refused stream, a failing item), cancellation when the caller
//! drops its stream, the `timeout` option, `StreamOptions` through the
//! `_with` stubs, and reflection.

mod common;

use std::{collections::HashMap, fmt, time::Duration};

use common::within;
use futures_util::{Stream, StreamExt, stream};
use rpc::{Client, ErrorCode, Incoming, MethodKind, Server, StreamError, StreamOptions};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rpc::Schema)]
struct Tick {
    n: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rpc::Schema)]
enum FeedError {
    Closed { at: u64 },
    TooFar { from: u64 },
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedError::Closed { at } => write!(f, "the feed closed at {at}"),
            FeedError::TooFar { from } => write!(f, "nothing after {from}"),
        }
    }
}

/// Tells the test that a producer (or an upload stream) was dropped.
struct Dropped {
    what: &'static str,
    events: mpsc::UnboundedSender<&'static str>,
}

impl Drop for Dropped {
    fn drop(&mut self) {
        let _ = self.events.send(self.what);
    }
}

/// `items`, reporting to `events` when the stream is dropped.
fn watched<S: Stream>(
    what: &'static str,
    events: &mpsc::UnboundedSender<&'static str>,
    items: S,
) -> impl Stream<Item = S::Item> + use<S> {
    let guard = Dropped {
        what,
        events: events.clone(),
    };
    items.map(move |item| {
        let _keep = &guard;
        item
    })
}

struct Feeds {
    events: mpsc::UnboundedSender<&'static str>,
}

/// Numbers and lines, every way a stream goes.
#[rpc::router]
impl Feeds {
    /// Ticks from zero: `limit` of them, or forever.
    #[rpc::stream]
    fn ticks(&self, limit: Option<u64>) -> impl Stream<Item = Tick> + Send + 'static {
        let numbers = stream::iter(0..limit.unwrap_or(u64::MAX));
        watched("ticks", &self.events, numbers.map(|n| Tick { n }))
    }

    /// Lines from `from`, until the feed closes at `close_at`.
    #[rpc::stream(name = "feeds.lines")]
    async fn lines(
        &self,
        from: u64,
        close_at: u64,
    ) -> Result<impl Stream<Item = Result<String, FeedError>>, FeedError> {
        if from > 100 {
            return Err(FeedError::TooFar { from });
        }
        Ok(stream::iter(from..).map(move |n| {
            if n == close_at {
                Err(FeedError::Closed { at: n })
            } else {
                Ok(format!("line {n}"))
            }
        }))
    }

    /// Adds up the uploads.
    #[rpc::stream]
    async fn sum(&self, mut numbers: Incoming<u64>) -> Result<u64, FeedError> {
        let mut total: u64 = 0;
        while let Some(n) = numbers.next().await {
            let n = n.map_err(|_| FeedError::Closed { at: total })?;
            total = total
                .checked_add(n)
                .ok_or(FeedError::TooFar { from: total })?;
        }
        Ok(total)
    }

    /// Shouts every upload back, after `prefix`.
    #[rpc::stream]
    fn shout(
        &self,
        prefix: String,
        lines: Incoming<String>,
    ) -> impl Stream<Item = String> + Send + 'static {
        let shouted = lines.filter_map(move |line| {
            let prefix = prefix.clone();
            async move {
                line.ok()
                    .map(|line| format!("{prefix}{}", line.to_uppercase()))
            }
        });
        watched("shout", &self.events, shouted)
    }

    /// Never sends anything; the deadline ends it.
    #[rpc::stream(timeout = "300ms")]
    fn forever(&self) -> impl Stream<Item = u64> + Send + 'static {
        watched("forever", &self.events, stream::pending())
    }

    /// Never sends anything, with no deadline.
    #[rpc::stream]
    fn silent(&self) -> impl Stream<Item = u64> + Send + 'static {
        watched("silent", &self.events, stream::pending())
    }

    /// An ordinary call beside the streams.
    #[rpc::call]
    async fn add(&self, a: u64, b: u64) -> u64 {
        a + b
    }
}

struct Setup {
    server: Server,
    client: Client,
    events: mpsc::UnboundedReceiver<&'static str>,
}

async fn setup() -> Setup {
    let (events_tx, events) = mpsc::unbounded_channel();
    let server = Server::builder()
        .mount(Feeds { events: events_tx })
        .bind("127.0.0.1:0")
        .await
        .expect("server binds");
    let client = Client::connect(&format!("ws://{}", server.local_addr().unwrap()))
        .await
        .expect("client connects");
    Setup {
        server,
        client,
        events,
    }
}

impl Setup {
    fn feeds(&self) -> FeedsClient {
        FeedsClient::new(self.client.peer())
    }

    /// Waits until the producer `what` is dropped, skipping reports of
    /// other producers finishing.
    async fn dropped(&mut self, what: &str) {
        within(&format!("{what} dropped"), async {
            loop {
                let found = self.events.recv().await.expect("the server is alive");
                if found == what {
                    break;
                }
            }
        })
        .await;
    }

    async fn finish(self) {
        self.client.close().await;
        self.server.shutdown().await;
    }
}

/// The items of `incoming` up to its end, and the error that ended it.
async fn drain<T, S>(incoming: S) -> (Vec<T>, Option<StreamError>)
where
    S: Stream<Item = Result<T, StreamError>>,
{
    let mut incoming = std::pin::pin!(incoming);
    let mut items = Vec::new();
    while let Some(item) = within("next item", incoming.next()).await {
        match item {
            Ok(item) => items.push(item),
            Err(err) => {
                assert!(
                    within("end", incoming.next()).await.is_none(),
                    "an error is the stream's last item"
                );
                return (items, Some(err));
            }
        }
    }
    (items, None)
}

#[tokio::test]
async fn a_server_stream_arrives_through_the_stub() {
    let t = setup().await;
    let ticks = t.feeds().ticks(Some(50)).await.expect("opens");
    let (items, err) = drain(ticks).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(items, (0..50).map(|n| Tick { n }).collect::<Vec<_>>());
    t.finish().await;
}

#[tokio::test]
async fn dropping_the_stubs_stream_stops_the_producer() {
    let mut t = setup().await;
    let feeds = t.feeds();
    let options = StreamOptions::default().window(4);
    let mut ticks = feeds.ticks_with(None, options).await.expect("opens");
    for n in 0..3 {
        let tick = within("tick", ticks.next()).await.expect("an item");
        assert_eq!(tick.expect("a tick"), Tick { n });
    }
    drop(ticks);
    t.dropped("ticks").await;
    // The session carries on.
    assert_eq!(feeds.add(2, 2).await.expect("call"), 4);
    t.finish().await;
}

#[tokio::test]
async fn a_failing_item_ends_the_stream_with_the_typed_error() {
    let t = setup().await;
    let lines = t.feeds().lines(7, 10).await.expect("opens");
    let lines = lines.expect("accepted");
    let (items, err) = drain(lines).await;
    assert_eq!(items, ["line 7", "line 8", "line 9"]);
    let err = err.expect("the feed closed");
    let StreamError::Application(remote) = &err else {
        panic!("expected an application error, got {err:?}");
    };
    assert_eq!(remote.code(), ErrorCode::APPLICATION);
    assert_eq!(remote.message(), "the feed closed at 10");
    assert_eq!(
        rpc::stub::application_error::<FeedError>(&err),
        Some(FeedError::Closed { at: 10 })
    );
    t.finish().await;
}

#[tokio::test]
async fn a_refused_stream_is_refused_by_the_open_with_the_typed_error() {
    let t = setup().await;
    let refused = t.feeds().lines(500, 0).await.expect("answered");
    assert_eq!(
        refused.expect_err("refused"),
        FeedError::TooFar { from: 500 }
    );
    t.finish().await;
}

#[tokio::test]
async fn a_client_stream_is_answered_once() {
    let t = setup().await;
    let feeds = t.feeds();
    let total = within("sum", feeds.sum(stream::iter(1..=1000_u64))).await;
    assert_eq!(total.expect("call"), Ok(500_500));

    // Options reach the call: uploads that never end, and an idle timeout.
    let options = StreamOptions::default().idle_timeout(Duration::from_millis(100));
    let total = within("sum", feeds.sum_with(stream::pending(), options)).await;
    let err = total.expect_err("no answer in time");
    assert!(err.is_timeout(), "{err:?}");

    // The method's own error comes back typed.
    let total = within("sum", feeds.sum(stream::iter([u64::MAX, 1]))).await;
    assert_eq!(
        total.expect("call"),
        Err(FeedError::TooFar { from: u64::MAX })
    );
    t.finish().await;
}

#[tokio::test]
async fn a_bidirectional_stream_answers_each_upload() {
    let t = setup().await;
    let words = stream::iter(["hello", "stream"].map(String::from));
    let shouted = t
        .feeds()
        .shout("> ".to_owned(), words)
        .await
        .expect("opens");
    let (answers, err) = drain(shouted).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(answers, ["> HELLO", "> STREAM"]);
    t.finish().await;
}

#[tokio::test]
async fn dropping_a_bidirectional_stream_stops_both_directions() {
    let mut t = setup().await;
    let (uploads_tx, mut uploads_dropped) = mpsc::unbounded_channel();
    // Uploads that never end: only dropping the stream stops them.
    let words = stream::iter(["a".to_owned()]).chain(stream::pending());
    let words = watched("uploads", &uploads_tx, words);
    let mut shouted = t.feeds().shout(String::new(), words).await.expect("opens");
    let answer = within("answer", shouted.next()).await.expect("an answer");
    assert_eq!(answer.expect("shouted"), "A");
    assert!(shouted.is_feeding());
    drop(shouted);
    // The client's feeding task is aborted, dropping the uploads...
    let dropped = within("uploads dropped", uploads_dropped.recv()).await;
    assert_eq!(dropped, Some("uploads"));
    // ...and the server's handler is cancelled, dropping its stream.
    t.dropped("shout").await;
    t.finish().await;
}

#[tokio::test]
async fn the_timeout_option_is_a_deadline_on_the_whole_stream() {
    let mut t = setup().await;
    let forever = t.feeds().forever().await.expect("opens");
    let (items, err) = drain(forever).await;
    assert!(items.is_empty());
    let err = err.expect("the deadline passed");
    assert!(
        matches!(&err, StreamError::Application(remote) if remote.code() == ErrorCode::TIMEOUT),
        "{err:?}"
    );
    t.dropped("forever").await;
    t.finish().await;
}

#[tokio::test]
async fn stream_options_set_an_idle_timeout() {
    let mut t = setup().await;
    let options = StreamOptions::default().idle_timeout(Duration::from_millis(100));
    let silent = t.feeds().silent_with(options).await.expect("opens");
    let (items, err) = drain(silent).await;
    assert!(items.is_empty());
    let err = err.expect("timed out");
    assert!(err.is_timeout(), "{err:?}");
    // Timing out cancels the stream at the server.
    t.dropped("silent").await;
    t.finish().await;
}

#[tokio::test]
async fn discover_shows_stream_kinds_and_item_types() {
    let t = setup().await;
    let routers = t.client.peer().discover().await.expect("discover");
    let feeds = &routers[0];
    assert_eq!(feeds.name, "Feeds");
    let methods: HashMap<&str, _> = feeds.methods.iter().map(|m| (m.name.as_ref(), m)).collect();
    let shown = |name: &str| {
        let method = methods[name];
        let params: Vec<(String, String)> = method
            .params
            .iter()
            .map(|p| (p.name.to_string(), p.ty.to_string()))
            .collect();
        (method.kind, params, method.returns.to_string())
    };
    let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect()
    };

    assert_eq!(
        shown("ticks"),
        (
            MethodKind::Stream,
            owned(&[("limit", "Option<u64>")]),
            "Stream<Item = Tick>".to_owned()
        )
    );
    assert_eq!(
        shown("feeds.lines"),
        (
            MethodKind::Stream,
            owned(&[("from", "u64"), ("close_at", "u64")]),
            "Result<Stream<Item = Result<String, FeedError>>, FeedError>".to_owned()
        )
    );
    // The upload stream is listed after the arguments, typed `Incoming<U>`.
    assert_eq!(
        shown("sum"),
        (
            MethodKind::Stream,
            owned(&[("numbers", "Incoming<u64>")]),
            "Result<u64, FeedError>".to_owned()
        )
    );
    assert_eq!(
        shown("shout"),
        (
            MethodKind::Stream,
            owned(&[("prefix", "String"), ("lines", "Incoming<String>")]),
            "Stream<Item = String>".to_owned()
        )
    );
    assert_eq!(methods["forever"].timeout_ms, Some(300));
    assert_eq!(methods["add"].kind, MethodKind::Call);
    assert_eq!(
        methods["ticks"].docs,
        "Ticks from zero: `limit` of them, or forever."
    );
    t.finish().await;
}
