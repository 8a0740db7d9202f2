//! Inline methods written as a plain `fn`: `#[rpc::router]` runs them to
//! their answer through `Router::dispatch_now`, on the session's reader
//! and without a future; with middleware installed they take the future
//! path like any other method. Either way a caller sees the same answers,
//! errors and panics as from an `async fn`.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use rpc::{
    Client, Error, ErrorCode, HandlerError, HandlerFuture, MethodInfo, MethodKind, Reply, Request,
    Router, RouterInfo, Server, Session, middleware, testing,
};

/// A counter whose methods never wait.
#[derive(Default)]
struct Counter {
    count: AtomicU64,
    /// The session id the last `whoami` saw.
    seen: AtomicU64,
}

#[rpc::router]
impl Counter {
    /// Adds `by` and answers the new count.
    #[rpc::call(inline)]
    fn add(&self, by: u64) -> u64 {
        self.count.fetch_add(by, Ordering::Relaxed) + by
    }

    /// Halves an even number; an odd one is the caller's mistake.
    #[rpc::call(inline)]
    #[allow(clippy::unused_self, reason = "a router's methods take `&self`")]
    fn halve(&self, n: u64) -> Result<u64, String> {
        if n.is_multiple_of(2) {
            Ok(n / 2)
        } else {
            Err(format!("{n} is odd"))
        }
    }

    /// The id of the session calling, injected.
    #[rpc::call(inline)]
    fn whoami(&self, session: &Session) -> u64 {
        self.seen.store(session.id(), Ordering::Relaxed);
        session.id()
    }

    /// Adds one, answering nothing.
    #[rpc::cast(inline)]
    fn bump(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Panics: the caller gets an `internal` error, the session goes on.
    #[rpc::call(inline)]
    #[allow(clippy::unused_self, reason = "a router's methods take `&self`")]
    fn explode(&self) -> u64 {
        panic!("a synchronous handler failed")
    }

    /// An `async fn` inline: answered through its future.
    #[rpc::call(inline)]
    async fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

async fn pair(server: rpc::ServerBuilder) -> testing::Pair {
    testing::pair(server, Client::builder())
        .await
        .expect("the pair connects")
}

/// Every method of [`Counter`], called once in turn from `client`.
async fn exercise(pair: &testing::Pair) {
    let counter = CounterClient::new(pair.client.peer());
    assert_eq!(counter.add(5).await.unwrap(), 5);
    counter.bump().await.unwrap();
    // The cast is read before the next call on the same connection.
    assert_eq!(counter.count().await.unwrap(), 6);
    assert_eq!(counter.halve(8).await.unwrap(), Ok(4));
    assert_eq!(counter.halve(7).await.unwrap(), Err("7 is odd".to_owned()));
    assert_eq!(counter.whoami().await.unwrap(), pair.server.id());
    match counter.explode().await {
        Err(Error::Remote(remote)) => assert_eq!(remote.code(), ErrorCode::INTERNAL),
        other => panic!("a panic answers `internal`, got {other:?}"),
    }
    assert_eq!(counter.add(1).await.unwrap(), 7, "the session goes on");
}

#[test]
fn plain_and_async_inline_fns_alike_run_inline() {
    let counter = Counter::default();
    let runs_now: Vec<&str> = counter
        .info()
        .methods
        .iter()
        .enumerate()
        .filter(|(index, _)| counter.runs_inline(*index))
        .map(|(_, method)| method.name.as_ref())
        .collect();
    // `count` runs inline too, but as a future.
    assert_eq!(
        runs_now,
        ["add", "halve", "whoami", "bump", "explode", "count"]
    );
}

#[tokio::test]
async fn plain_inline_fns_answer_calls_casts_errors_and_panics() {
    let pair = pair(Server::builder().mount(Counter::default())).await;
    exercise(&pair).await;
}

#[tokio::test]
async fn with_middleware_they_run_as_futures_through_it() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let layer = middleware::from_fn(move |call, request, next| {
        log.lock().unwrap().push(call.method.name.to_string());
        async move { next.run(request).await }
    });
    let pair = pair(Server::builder().layer(layer).mount(Counter::default())).await;
    exercise(&pair).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "add", "bump", "count", "halve", "halve", "whoami", "explode", "add"
        ],
        "every request passed the middleware"
    );
}

/// A refusal made before the method runs (a wrong argument type) is
/// answered as for any method.
#[tokio::test]
async fn arguments_that_do_not_decode_are_refused() {
    let pair = pair(Server::builder().mount(Counter::default())).await;
    let refused = pair
        .client
        .peer()
        .call::<_, u64>("add", &("not a number",))
        .await;
    match refused {
        Err(Error::Remote(remote)) => assert_eq!(remote.code(), ErrorCode::BAD_ARGUMENTS),
        other => panic!("expected `bad arguments`, got {other:?}"),
    }
}

/// A hand-written router whose one method answers 7 from `dispatch_now`,
/// and an error from its future: which one a caller gets says which path
/// the session took.
struct TwoPaths;

static TWO_PATHS_METHODS: [MethodInfo; 1] = [MethodInfo::new(
    "which",
    MethodKind::Call,
    &[],
    "u64",
    "Answers 7 at once.",
    None,
)];
static TWO_PATHS: RouterInfo = RouterInfo::new("TwoPaths", "", &TWO_PATHS_METHODS);

impl Router for TwoPaths {
    fn info(&self) -> &'static RouterInfo {
        &TWO_PATHS
    }

    fn runs_inline(&self, _method: usize) -> bool {
        true
    }

    fn dispatch(self: Arc<Self>, _method: usize, _request: Request) -> HandlerFuture {
        Box::pin(async { Err(HandlerError::new(ErrorCode::APPLICATION, "the future")) })
    }

    fn dispatch_now(
        &self,
        _method: usize,
        request: Request,
    ) -> Result<Result<Reply, HandlerError>, Request> {
        Ok(request.reply(&7_u64))
    }
}

#[tokio::test]
async fn the_session_answers_from_dispatch_now_unless_middleware_wraps_the_handlers() {
    let direct = pair(Server::builder().mount(TwoPaths)).await;
    let answer: u64 = direct.client.peer().call("which", &()).await.unwrap();
    assert_eq!(answer, 7);

    let layer = middleware::from_fn(|_call, request, next| next.run(request));
    let wrapped = pair(Server::builder().layer(layer).mount(TwoPaths)).await;
    match wrapped.client.peer().call::<_, u64>("which", &()).await {
        Err(Error::Remote(remote)) => assert_eq!(remote.message(), "the future"),
        other => panic!("middleware takes the future, got {other:?}"),
    }
}
