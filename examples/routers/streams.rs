//! Streams every way: server, client and bidirectional.

use futures_util::{Stream, StreamExt, stream};
use rpc::Incoming;

/// Streams of numbers and lines.
pub(crate) struct Streams;

/// Streams every way: items from the server, uploads from the caller, both.
#[rpc::router]
impl Streams {
    /// Server stream: the numbers `0..n`, then the end. Dropping the stream
    /// early sends a cancel.
    #[rpc::stream]
    async fn count(&self, n: u64) -> impl Stream<Item = u64> + Send + 'static {
        stream::iter(0..n)
    }

    /// Client stream: adds up the uploaded numbers and answers once with
    /// the total, after the uploads end.
    #[rpc::stream]
    async fn sum(&self, mut numbers: Incoming<i64>) -> i64 {
        let mut total: i64 = 0;
        while let Some(Ok(n)) = numbers.next().await {
            total = total.wrapping_add(n);
        }
        total
    }

    /// Bidirectional stream: answers each uploaded line with it in upper
    /// case, and ends after the uploads end.
    #[rpc::stream]
    async fn upper(&self, lines: Incoming<String>) -> impl Stream<Item = String> + Send + 'static {
        lines.filter_map(|line| async move { line.ok().map(|line| line.to_uppercase()) })
    }
}
