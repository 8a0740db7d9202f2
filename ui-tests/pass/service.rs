//! A service trait with every kind of method, an implementation written
//! with `async fn`, mounted on a server and on a client, and its stub.

use std::sync::Arc;

use futures_util::{Stream, StreamExt, stream};
use rpc::{Incoming, Session};

/// A counter shared by its callers.
#[rpc::service]
pub trait Counter {
    /// The current count.
    #[rpc::call]
    async fn get(&self) -> u64;

    /// Adds `by`, refusing to overflow.
    #[rpc::call(name = "counter.add", timeout = "1s", idempotent)]
    async fn add(self: Arc<Self>, session: &Session, by: u64) -> Result<u64, String>;

    /// Resets the count.
    #[rpc::cast]
    async fn reset(&self);

    /// Counts from zero to `to`.
    #[rpc::stream]
    fn upto(&self, to: u64) -> impl Stream<Item = u64>;

    /// Adds up the uploads.
    #[rpc::stream]
    async fn sum(&self, numbers: Incoming<u64>) -> u64;

    /// Echoes the uploads, or refuses.
    #[rpc::stream]
    async fn echo(
        &self,
        numbers: Incoming<u64>,
    ) -> Result<impl Stream<Item = Result<u64, String>>, String>;
}

struct Memory;

impl Counter for Memory {
    async fn get(&self) -> u64 {
        0
    }

    async fn add(self: Arc<Self>, session: &Session, by: u64) -> Result<u64, String> {
        let _ = session.id();
        Ok(by)
    }

    async fn reset(&self) {}

    fn upto(&self, to: u64) -> impl Stream<Item = u64> {
        stream::iter(0..to)
    }

    async fn sum(&self, numbers: Incoming<u64>) -> u64 {
        numbers.filter_map(|n| async move { n.ok() }).fold(0, |a, n| async move { a + n }).await
    }

    async fn echo(
        &self,
        numbers: Incoming<u64>,
    ) -> Result<impl Stream<Item = Result<u64, String>>, String> {
        Ok(numbers.map(|n| n.map_err(|err| err.to_string())))
    }
}

async fn call(counter: &CounterClient) -> Result<(), rpc::Error> {
    let _: u64 = counter.get().await?;
    let _: Result<u64, String> = counter.add(2).await?;
    counter.reset().await?;
    let _: rpc::Incoming<u64> = counter.upto(3).await?;
    let _: u64 = counter.sum(stream::iter([1, 2])).await?;
    let _: Result<rpc::BidiStream<u64>, String> = counter.echo_with(stream::empty(), rpc::StreamOptions::default()).await?;
    Ok(())
}

fn main() {
    let _ = rpc::Server::builder().mount(CounterRouter::new(Memory));
    let _ = rpc::Client::builder().mount(CounterRouter::from_arc(Arc::new(Memory)));
    let router: &dyn rpc::Router = &CounterRouter::new(Memory);
    assert_eq!(router.info().name, "Counter");
    let _ = call;
}
