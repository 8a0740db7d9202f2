//! The attributes work imported by name, too.

use rpc::{Incoming, Session, call, cast, router, stream};

struct Counter;

#[router]
impl Counter {
    #[call]
    async fn get(&self) -> u64 {
        0
    }

    #[cast(name = "counter.bump")]
    async fn bump(&self, _session: &Session, by: u64) {
        let _ = by;
    }

    #[stream(name = "counter.watch", timeout = "10m")]
    async fn watch(&self, _: Incoming<u64>) {}
}

async fn watch(counter: &CounterClient) -> Result<(), rpc::Error> {
    counter
        .watch_with(futures_util::stream::empty(), rpc::StreamOptions::default())
        .await
}

fn main() {
    let _ = CounterClient::<rpc::Peer>::new;
    let _ = watch;
    let _: &dyn rpc::Router = &Counter;
}
