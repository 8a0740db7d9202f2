//! A server stream: the server sends a tick every few milliseconds until the
//! client has seen enough and drops the stream, which stops the producer.
//!
//! Run it with `cargo run --example ticker`.

use std::time::Duration;

use futures_util::{Stream, StreamExt, stream};
use rpc::{Client, Server, StreamOptions};
use serde::{Deserialize, Serialize};

/// One tick of the feed.
#[derive(Debug, Clone, Serialize, Deserialize, rpc::Schema)]
struct Tick {
    seq: u32,
    price: f64,
}

/// A price feed around a base price.
struct Ticker {
    base: f64,
}

/// Market data.
#[rpc::router]
impl Ticker {
    /// Ticks forever, one every `every_ms` milliseconds, until the caller
    /// drops the stream.
    #[rpc::stream]
    fn ticks(&self, every_ms: u64) -> impl Stream<Item = Tick> + Send + 'static {
        let every = Duration::from_millis(every_ms);
        let base = self.base;
        stream::unfold(0u32, move |seq| async move {
            tokio::time::sleep(every).await;
            // A made-up price walk: deterministic, no randomness needed.
            let price = base + (f64::from(seq) * 0.7).sin() * 5.0;
            Some((Tick { seq, price }, seq + 1))
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .mount(Ticker { base: 100.0 })
        .bind("127.0.0.1:0")
        .await?;
    let client = Client::connect(&format!("ws://{}", server.local_addr().unwrap())).await?;
    let ticker = TickerClient::new(client.peer());

    // A window of 4 items: the server never runs more than 4 ticks ahead of
    // this reader; an idle timeout guards against a stalled feed.
    let options = StreamOptions::default()
        .window(4)
        .idle_timeout(Duration::from_secs(2));
    let mut ticks = ticker.ticks_with(20, options).await?;
    while let Some(tick) = ticks.next().await {
        let tick = tick?;
        println!("tick {:>2}: {:.2}", tick.seq, tick.price);
        if tick.seq == 9 {
            break;
        }
    }
    // Dropping the stream cancels it: the server's producer stops.
    drop(ticks);
    println!("stopped after 10 ticks; the server's producer was cancelled");

    client.close().await;
    server.shutdown().await;
    Ok(())
}
