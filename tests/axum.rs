//! The endpoint mounted in an axum app, sharing its port with ordinary
//! routes, with the server's limits, authentication, registry and graceful
//! shutdown.

mod common;

use std::net::SocketAddr;

use axum::routing::get;
use common::{FnRouter, within};
use rpc::{Client, Refusal, Server, ServerBuilder, protocol::close_code};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

fn calculator() -> ServerBuilder {
    let router = FnRouter::new("Calc").call("add", |req| async move {
        let (a, b): (i64, i64) = req.args()?;
        req.reply(&(a + b))
    });
    Server::builder()
        .config(common::server_config())
        .mount(router.finished())
}

/// Serves `/health` and the endpoint at `/rpc` on 127.0.0.1:0.
async fn app(builder: ServerBuilder) -> (Server, SocketAddr) {
    let rpc = builder.build().unwrap();
    let app = axum::Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/rpc", rpc.upgrader().into_route());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (rpc, addr)
}

async fn health(addr: SocketAddr) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn the_endpoint_shares_the_port_with_ordinary_routes() {
    let (rpc, addr) = app(calculator()).await;
    let response = within("health", health(addr)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok"), "{response}");

    let client = within("connect", Client::connect(&format!("ws://{addr}/rpc")))
        .await
        .unwrap();
    let sum: i64 = client.peer().call("add", &(2, 3)).await.unwrap();
    assert_eq!(sum, 5);
    assert_eq!(
        rpc.registry().len(),
        1,
        "the session is in the server's registry"
    );
    let session = &rpc.registry().find(rpc::Audience::All)[0];
    assert!(session.peer().is_some());
    assert!(
        within("health again", health(addr))
            .await
            .starts_with("HTTP/1.1 200")
    );
}

#[tokio::test]
async fn limits_and_authentication_apply_as_on_the_servers_own_listener() {
    let builder = calculator()
        .config(common::server_config().max_connections(1))
        .authenticate(|request| match request.header("authorization") {
            Some("Bearer secret") => Ok(None),
            _ => Err(Refusal::unauthorized("send the token")),
        });
    let (_rpc, addr) = app(builder).await;
    let url = format!("ws://{addr}/rpc");
    let err = within("no token", Client::connect(&url)).await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err:?}");
    let first = within(
        "with the token",
        Client::builder()
            .header("Authorization", "Bearer secret")
            .connect(&url),
    )
    .await
    .unwrap();
    let err = within(
        "over the limit",
        Client::builder()
            .header("Authorization", "Bearer secret")
            .connect(&url),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err:?}");
    let sum: i64 = first.peer().call("add", &(1, 1)).await.unwrap();
    assert_eq!(sum, 2);
}

#[tokio::test]
async fn shutdown_drains_the_sessions_and_refuses_new_upgrades_while_the_app_goes_on() {
    let (rpc, addr) = app(calculator()).await;
    let url = format!("ws://{addr}/rpc");
    let client = within("connect", Client::connect(&url)).await.unwrap();
    let upgrader = rpc.upgrader();
    within("shutdown", rpc.shutdown()).await;
    let reason = within("close", client.peer().closed()).await;
    assert_eq!(reason.code, close_code::GOING_AWAY);
    // The endpoint stays routed but refuses; the app's own routes go on.
    let err = within("after shutdown", Client::connect(&url))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err:?}");
    assert!(
        within("health", health(addr))
            .await
            .starts_with("HTTP/1.1 200")
    );
    drop(upgrader);
}
