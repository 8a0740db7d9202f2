//! A client that survives its server: it calls `add(i, i)` every 100 ms and
//! prints one line per call, and one per change of its connection state.
//!
//! ```text
//! cargo run --release --example server -- 127.0.0.1:9000
//! cargo run --release --example resilient_client -- ws://127.0.0.1:9000
//! ```
//!
//! Stop the server and start it again on the same port: the client prints
//! `state reconnecting`, the calls made meanwhile fail (`err <i>
//! disconnected` once a call has waited its 1 s timeout without a
//! connection; `err <i> indeterminate` for one in flight when the link
//! dropped), and on the next attempt of its backoff `state connected` and
//! `ok` lines again. Ctrl-C exits with status 0.
//!
//! The lines:
//!
//! - `ok <i> <result>`: `add(i, i)` answered `result`.
//! - `err <i> <kind>`: it failed; `kind` is [`rpc::Error::kind`]'s word:
//!   `disconnected` (never sent), `indeterminate` (sent, link lost before
//!   the answer), `timeout`, `closed` (the client gave up), ...
//! - `state <name>`: `connecting`, `connected`, `reconnecting` or `closed`.

#[path = "routers/mod.rs"]
#[allow(dead_code, reason = "this example calls the calculator only")]
mod routers;

use std::time::Duration;

use routers::CalculatorClient;
use rpc::{CallOptions, Client, ConnectionEvent, ReconnectPolicy};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: resilient_client ws://HOST:PORT");
        std::process::exit(2);
    };
    let client = Client::builder()
        .reconnect()
        .policy(
            ReconnectPolicy::exponential(Duration::from_millis(100))
                .max_delay(Duration::from_secs(2)),
        )
        .start(&url)?;
    let mut events = client.events();
    println!("state {}", client.state().name());
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            if let ConnectionEvent::Reconnecting { attempt, .. } = &event {
                // One line per state, not per attempt.
                if *attempt > 1 {
                    continue;
                }
            }
            if let Some(state) = event.state() {
                println!("state {}", state.name());
            }
        }
    });

    // One stub for the whole run: it calls through whichever connection
    // is up.
    let calculator = CalculatorClient::new(&client)
        .with_options(CallOptions::default().timeout(Duration::from_secs(1)));
    // One listener for the whole run, so that no Ctrl-C is missed between
    // two calls.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for i in 0_i64.. {
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = ticks.tick() => {}
        }
        let call = calculator.add(i, i);
        tokio::select! {
            _ = &mut ctrl_c => break,
            outcome = call => match outcome {
                Ok(sum) => println!("ok {i} {sum}"),
                Err(err) => println!("err {i} {}", err.kind()),
            },
        }
    }
    client.close().await;
    Ok(())
}
