//! The example routers served at `/rpc` of an axum app, beside an ordinary
//! `GET /health` route, on one port. Stops gracefully on Ctrl-C: axum stops
//! taking requests and the RPC sessions drain.
//!
//! `cargo run --release --example axum_server -- 127.0.0.1:9000`, then
//! connect an rpc client to `ws://127.0.0.1:9000/rpc`.

#[path = "routers/mod.rs"]
#[allow(dead_code, reason = "this example mounts only some of the routers")]
mod routers;

use std::net::SocketAddr;

use axum::routing::get;
use rpc::Server;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9000".to_owned());

    let rpc = Server::builder()
        .mount(routers::Calculator)
        .mount(routers::Echo)
        .build()?;
    let app = axum::Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/rpc", rpc.upgrader().into_route());

    let listener = tokio::net::TcpListener::bind(addr.as_str()).await?;
    println!(
        "listening on http://{}/health and ws://{}/rpc",
        listener.local_addr()?,
        listener.local_addr()?
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    println!("shutting down");
    rpc.shutdown().await;
    Ok(())
}
