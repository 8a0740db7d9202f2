//! A standalone server of the example routers, for peers written in other
//! languages and for load tests. It stays up until Ctrl-C, then shuts down
//! gracefully.
//!
//! `cargo run --release --example server -- 127.0.0.1:9000`

#[path = "routers/mod.rs"]
mod routers;

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
    let server = Server::builder()
        .mount(routers::Calculator)
        .mount(routers::Echo)
        .bind(addr.as_str())
        .await?;
    println!("listening on ws://{}", server.local_addr());
    tokio::signal::ctrl_c().await?;
    println!("shutting down");
    server.shutdown().await;
    Ok(())
}
