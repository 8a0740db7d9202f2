//! Middleware around handlers, on servers and clients: order, refusals
//! with typed errors, the outcome, and the layers the library ships.

mod common;

use std::sync::{Arc, Mutex};

use common::{FnRouter, server_config, within};
use rpc::{
    CallOptions, Client, ErrorCode, HandlerError, Server,
    middleware::{self, Authorize, ConcurrencyLimit, RequestLog},
};
use tokio::sync::{mpsc, oneshot};

fn calculator() -> FnRouter {
    FnRouter::new("Calculator")
        .call("add", |req| async move {
            let (a, b): (i64, i64) = req.args()?;
            req.reply(&(a + b))
        })
        .call("fail", |_req| async move {
            Err(HandlerError::new(ErrorCode::APPLICATION, "no"))
        })
        .call("admin.reset", |req| async move { req.reply(&()) })
}

async fn serve_with_layers(build: impl FnOnce(rpc::ServerBuilder) -> rpc::ServerBuilder) -> Server {
    build(
        Server::builder()
            .config(server_config())
            .mount(calculator().finished()),
    )
    .authenticate(common::subject_from_header)
    .bind("127.0.0.1:0")
    .await
    .unwrap()
}

async fn client_as(server: &Server, subject: Option<&str>) -> Client {
    let builder = Client::builder();
    let builder = match subject {
        Some(subject) => builder.header("authorization", subject),
        None => builder,
    };
    builder.connect(&common::url(server)).await.unwrap()
}

#[tokio::test]
async fn layers_run_outermost_first_and_see_method_headers_and_outcome() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let layer = |name: &'static str| {
        let seen = Arc::clone(&seen);
        middleware::from_fn(move |call, request, next| {
            let seen = Arc::clone(&seen);
            async move {
                let header = request.header("x-trace").map(str::to_owned);
                seen.lock()
                    .unwrap()
                    .push(format!("{name} before {} {header:?}", call.method.name));
                let outcome = next.run(request).await;
                let how = if outcome.is_ok() { "ok" } else { "err" };
                seen.lock().unwrap().push(format!("{name} after {how}"));
                outcome
            }
        })
    };
    let server = serve_with_layers(|b| b.layer(layer("outer")).layer(layer("inner"))).await;
    let client = client_as(&server, None).await;
    let options = CallOptions::default().header("x-trace", "t1");
    let sum: i64 = client
        .peer()
        .call_with("add", &(1_i64, 2_i64), options)
        .await
        .unwrap();
    assert_eq!(sum, 3);
    client.peer().call::<_, ()>("fail", &()).await.unwrap_err();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "outer before add Some(\"t1\")",
            "inner before add Some(\"t1\")",
            "inner after ok",
            "outer after ok",
            "outer before fail None",
            "inner before fail None",
            "inner after err",
            "outer after err",
        ]
    );
}

#[tokio::test]
async fn a_layer_refuses_with_a_typed_error_and_the_handler_does_not_run() {
    let (ran, mut runs) = mpsc::unbounded_channel();
    let router = FnRouter::new("Guarded").call("touch", move |req| {
        let _ = ran.send(());
        async move { req.reply(&()) }
    });
    let server = Server::builder()
        .config(server_config())
        .mount(router.finished())
        .layer(middleware::from_fn(|_call, request, next| async move {
            if request.header("x-key") != Some("open sesame") {
                return Err(HandlerError::new(ErrorCode::FORBIDDEN, "wrong key"));
            }
            next.run(request).await
        }))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let client = common::connect(&server).await;
    let err = client.peer().call::<_, ()>("touch", &()).await.unwrap_err();
    assert_eq!(err.remote_code(), Some(ErrorCode::FORBIDDEN));
    assert_eq!(err.kind(), "forbidden");
    assert!(runs.try_recv().is_err(), "the handler did not run");
    let options = CallOptions::default().header("x-key", "open sesame");
    client
        .peer()
        .call_with::<_, ()>("touch", &(), options)
        .await
        .unwrap();
    assert!(runs.try_recv().is_ok());
}

#[tokio::test]
async fn authorize_refuses_anonymous_and_unpermitted_callers() {
    let admins = Authorize::new(|identity, call| {
        !call.method.name.starts_with("admin.") || identity.subject().starts_with("admin:")
    });
    let server = serve_with_layers(|b| b.layer(admins)).await;

    let anonymous = client_as(&server, None).await;
    let err = anonymous
        .peer()
        .call::<_, i64>("add", &(1_i64, 1_i64))
        .await
        .unwrap_err();
    assert_eq!(err.remote_code(), Some(ErrorCode::UNAUTHENTICATED));

    let user = client_as(&server, Some("user:ann")).await;
    let sum: i64 = user.peer().call("add", &(1_i64, 1_i64)).await.unwrap();
    assert_eq!(sum, 2);
    let err = user
        .peer()
        .call::<_, ()>("admin.reset", &())
        .await
        .unwrap_err();
    assert_eq!(err.remote_code(), Some(ErrorCode::FORBIDDEN));
    assert!(err.remote().unwrap().message().contains("user:ann"));

    let admin = client_as(&server, Some("admin:root")).await;
    admin
        .peer()
        .call::<_, ()>("admin.reset", &())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_concurrency_limit_per_method_refuses_the_one_too_many_busy() {
    let (started, mut starts) = mpsc::unbounded_channel::<oneshot::Sender<()>>();
    let router = FnRouter::new("Slow")
        .call("slow", move |req| {
            let started = started.clone();
            async move {
                let (release, released) = oneshot::channel();
                let _ = started.send(release);
                let _ = released.await;
                req.reply(&())
            }
        })
        .call("quick", |req| async move { req.reply(&()) });
    let server = Server::builder()
        .config(server_config())
        .mount(router.finished())
        .layer(ConcurrencyLimit::per_method(1))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let client = common::connect(&server).await;
    let first = tokio::spawn({
        let peer = client.peer().clone();
        async move { peer.call::<_, ()>("slow", &()).await }
    });
    let release = within("the first call to start", starts.recv())
        .await
        .unwrap();
    // A second client: the limit is the method's, across sessions.
    let other = common::connect(&server).await;
    let err = other.peer().call::<_, ()>("slow", &()).await.unwrap_err();
    assert!(err.is_busy() && err.is_retryable(), "{err:?}");
    // Other methods are not held up.
    other.peer().call::<_, ()>("quick", &()).await.unwrap();
    release.send(()).unwrap();
    within("the first call", first).await.unwrap().unwrap();
    // The place is free again.
    let second = tokio::spawn({
        let peer = other.peer().clone();
        async move { peer.call::<_, ()>("slow", &()).await }
    });
    within("the next call to start", starts.recv())
        .await
        .unwrap()
        .send(())
        .unwrap();
    within("the next call", second).await.unwrap().unwrap();
}

#[tokio::test]
async fn layers_on_a_client_wrap_the_handlers_it_serves_the_server() {
    let (lobby, mut sessions) = FnRouter::new("Lobby").join_hands_out_sessions();
    let server = common::serve(lobby).await;
    let (seen, mut calls) = mpsc::unbounded_channel();
    let client = Client::builder()
        .mount(
            FnRouter::new("Phone")
                .call("ring", |req| async move { req.reply(&"hello") })
                .finished(),
        )
        .layer(middleware::from_fn(move |call, request, next| {
            let _ = seen.send(call.method.name.to_string());
            next.run(request)
        }))
        .connect(&common::url(&server))
        .await
        .unwrap();
    client.peer().call::<_, ()>("join", &()).await.unwrap();
    let session = within("the join", sessions.recv()).await.unwrap();
    let answer: String = session.peer().call("ring", &()).await.unwrap();
    assert_eq!(answer, "hello");
    assert_eq!(calls.recv().await.unwrap(), "ring");
}

#[tokio::test]
async fn the_request_log_says_what_failed() {
    let logged = common::logs::logged(async {
        let server = serve_with_layers(|b| b.layer(RequestLog::default())).await;
        let client = client_as(&server, Some("user:ann")).await;
        let _: i64 = client.peer().call("add", &(1_i64, 1_i64)).await.unwrap();
        client.peer().call::<_, ()>("fail", &()).await.unwrap_err();
    })
    .await;
    let requests: Vec<&str> = logged
        .lines()
        .filter(|line| line.contains("rpc::request"))
        .collect();
    assert!(
        requests
            .iter()
            .any(|line| line.contains("method=\"add\"") && line.contains(" ok")),
        "{requests:#?}"
    );
    assert!(
        requests.iter().any(|line| line.contains("method=\"fail\"")
            && line.contains("failed")
            && line.contains("subject=\"user:ann\"")
            && line.contains("application error")),
        "{requests:#?}"
    );
}
