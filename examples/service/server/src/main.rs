//! Serves an auction of three lots until Ctrl-C.
//!
//! `cargo run -p auction-server -- 127.0.0.1:9000` (the address defaults
//! to a free port on 127.0.0.1), then `cargo run -p auction-client --
//! ws://127.0.0.1:9000 1 100`.

use rpc::Server;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let server = Server::builder()
        .mount(auction_server::router(3))
        .bind(addr.as_str())
        .await?;
    if let Some(addr) = server.local_addr() {
        println!("serving the auction on ws://{addr}");
    }
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}
