//! The raw peer API (`call_raw`, `cast_raw`, `open_raw`) against a
//! `#[rpc::router]` server on 127.0.0.1: the bytes it sends are taken as
//! the arguments' postcard encoding, and the bytes it returns are the
//! postcard encodings of the answers, items and error values.

mod common;

use bytes::Bytes;
use common::within;
use futures_util::{Stream, StreamExt, stream};
use rpc::{
    CallOptions, Client, ErrorCode, Server, StreamError, StreamOptions, testing::TestServer,
};
use serde::Serialize;
use tokio::sync::mpsc;

struct Geometry {
    logged: mpsc::UnboundedSender<String>,
}

/// What the raw calls reach.
#[rpc::router]
impl Geometry {
    /// Moves a point.
    #[rpc::call]
    async fn shift(&self, point: Vec<i32>, by: i32) -> Vec<i32> {
        point.into_iter().map(|at| at + by).collect()
    }

    /// Divides, failing with a typed error.
    #[rpc::call]
    async fn div(&self, a: i64, b: i64) -> Result<i64, String> {
        a.checked_div(b)
            .ok_or_else(|| "division by zero".to_owned())
    }

    /// Records a line.
    #[rpc::cast]
    async fn log(&self, line: String) {
        let _ = self.logged.send(line);
    }

    /// Points on the diagonal, then an error at `close_at`.
    #[rpc::stream]
    #[allow(clippy::unused_self, reason = "a router's methods take `&self`")]
    fn diagonal(
        &self,
        close_at: u64,
    ) -> impl Stream<Item = Result<Vec<u64>, String>> + Send + 'static {
        stream::iter(0..).map(move |n: u64| {
            if n == close_at {
                Err(format!("closed at {n}"))
            } else {
                Ok(vec![n, n])
            }
        })
    }
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Bytes {
    Bytes::from(postcard::to_allocvec(value).expect("encodes"))
}

/// `call_raw` with the default options, within the test's bound.
async fn call_raw(client: &Client, method: &str, args: Bytes) -> Result<Bytes, rpc::Error> {
    within(
        method,
        client.peer().call_raw(method, args, CallOptions::default()),
    )
    .await
}

async fn setup() -> (TestServer, Client, mpsc::UnboundedReceiver<String>) {
    let (logged, lines) = mpsc::unbounded_channel();
    let server = TestServer::start(Server::builder().mount(Geometry { logged }))
        .await
        .expect("server binds");
    let client = server.client().await.expect("client connects");
    (server, client, lines)
}

#[tokio::test]
async fn call_raw_sends_and_returns_postcard_bytes() {
    let (server, client, _lines) = setup().await;
    let args = encode(&(vec![1, 2], 10));
    let answer = call_raw(&client, "shift", args).await.expect("answered");
    assert_eq!(answer, encode(&vec![11, 12]));
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn an_application_error_carries_the_encoded_error_value() {
    let (server, client, _lines) = setup().await;
    let err = call_raw(&client, "div", encode(&(1_i64, 0_i64)))
        .await
        .expect_err("division by zero");
    let remote = err.remote().expect("an error answer");
    assert_eq!(remote.code(), ErrorCode::APPLICATION);
    assert_eq!(remote.data(), encode("division by zero"));
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn bytes_that_do_not_fit_the_parameters_are_refused_as_bad_arguments() {
    let (server, client, _lines) = setup().await;
    let err = call_raw(&client, "div", Bytes::from_static(&[0xff]))
        .await
        .expect_err("not an (i64, i64)");
    assert_eq!(err.remote_code(), Some(ErrorCode::BAD_ARGUMENTS), "{err}");
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn cast_raw_reaches_the_handler() {
    let (server, client, mut lines) = setup().await;
    client
        .peer()
        .cast_raw("log", encode(&("hello",)), CallOptions::default())
        .await
        .expect("queued");
    assert_eq!(within("the cast", lines.recv()).await.unwrap(), "hello");
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn open_raw_yields_each_item_as_bytes_then_the_encoded_item_error() {
    let (server, client, _lines) = setup().await;
    let items = within(
        "raw open",
        client
            .peer()
            .open_raw("diagonal", encode(&(3_u64,)), StreamOptions::default()),
    )
    .await
    .expect("accepted");
    let items: Vec<Result<Bytes, StreamError>> = within("the items", items.collect()).await;
    assert_eq!(items.len(), 4, "{items:?}");
    for (n, item) in (0..3_u64).zip(&items) {
        assert_eq!(item.as_ref().unwrap(), &encode(&vec![n, n]));
    }
    let Some(Err(StreamError::Application(remote))) = items.last() else {
        panic!("the stream ends with its error: {items:?}");
    };
    assert_eq!(remote.code(), ErrorCode::APPLICATION);
    assert_eq!(remote.data(), encode("closed at 3"));
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn dropping_a_raw_stream_early_cancels_it() {
    let (server, client, _lines) = setup().await;
    let mut items = client
        .peer()
        .open_raw("diagonal", encode(&(u64::MAX,)), StreamOptions::default())
        .await
        .expect("accepted");
    let first = within("the first item", items.next()).await;
    assert_eq!(first.unwrap().unwrap(), encode(&vec![0_u64, 0]));
    drop(items);
    // The stream's slot is back and the session serves on.
    let answer = call_raw(&client, "div", encode(&(9_i64, 3_i64)))
        .await
        .expect("answered");
    assert_eq!(answer, encode(&3_i64));
    client.close().await;
    server.shutdown().await;
}
