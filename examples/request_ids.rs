//! Both sides' logs of one call, matched by its request id.
//!
//! Run it with `cargo run --example request_ids`. The client's `call` span
//! and the server's `handler` span of the same call carry the same
//! `request_id` (the client sent it in the call's metadata, header
//! `rpc-request-id`):
//!
//! ```text
//! DEBUG session{id=1 .. side="server"}:handler{method=add id=1 request_id=3f9c..}: rpc_core::session::inbound: close ..
//! DEBUG call{method=add id=1 request_id=3f9c..}: rpc_core::session::peer: close ..
//! ```

#[path = "routers/mod.rs"]
#[allow(dead_code, reason = "this example serves the calculator only")]
mod routers;

use routers::{Calculator, CalculatorClient};
use rpc::{Client, Server};
use tracing_subscriber::fmt::format::FmtSpan;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A span's fields are logged when it closes: both sides' spans of the
    // call, with their request ids.
    tracing_subscriber::fmt()
        .with_env_filter("rpc_core=debug")
        .with_span_events(FmtSpan::CLOSE)
        .init();
    let server = Server::builder()
        .mount(Calculator)
        .bind("127.0.0.1:0")
        .await?;
    let addr = server.local_addr().ok_or("the server has an address")?;
    let client = Client::connect(&format!("ws://{addr}")).await?;
    let sum = CalculatorClient::new(client.peer()).add(2, 3).await?;
    println!("2 + 3 = {sum}");
    client.close().await;
    server.shutdown().await;
    Ok(())
}
