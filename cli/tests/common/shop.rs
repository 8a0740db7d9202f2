//! The router most tests call: calls, a fallible call, a cast, a stream
//! and a call that pushes notifications.

use futures_util::{Stream, stream};
use rpc::{Server, Session};

use super::Served;

/// What the tests call.
pub struct Shop;

/// A small shop.
#[rpc::router]
impl Shop {
    /// Adds two numbers.
    #[rpc::call]
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    /// The prices of `qty` items of `item`, one per unit.
    ///
    /// Fails for items the shop does not sell.
    #[rpc::call(name = "shop.prices")]
    async fn prices(&self, item: String, qty: Option<u32>) -> Result<Vec<u64>, String> {
        match item.as_str() {
            "apple" => Ok(vec![3; qty.unwrap_or(1) as usize]),
            _ => Err(format!("no {item} here")),
        }
    }

    /// Counts from zero to `n`, excluded.
    #[rpc::stream]
    fn count(&self, n: u64) -> impl Stream<Item = u64> + Send + 'static {
        let _ = self;
        stream::iter(0..n)
    }

    /// Answers after `ms` milliseconds.
    #[rpc::call]
    async fn slow(&self, ms: u64) -> u64 {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        ms
    }

    /// Records a line; no answer.
    #[rpc::cast]
    async fn log(&self, line: String) {
        let _ = line;
    }

    /// Pushes `text` on topic `note`, `times` times, then answers `times`.
    #[rpc::call]
    async fn subscribe(&self, session: &Session, text: String, times: u32) -> u32 {
        let peer = session.peer();
        for _ in 0..times {
            let _ = peer.notify("note", &text).await;
        }
        times
    }
}

pub fn shop() -> Served {
    Served::start(|| Server::builder().mount(Shop))
}
