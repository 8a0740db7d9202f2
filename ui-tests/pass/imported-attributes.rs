//! The attributes work imported by name, too.

use rpc::{Session, call, cast, router};

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
}

fn main() {
    let _ = CounterClient::new;
    let _: &dyn rpc::Router = &Counter;
}
