use futures_util::{Stream, stream};

struct Tick {
    n: u64,
}

struct Ticker;

#[rpc::router]
impl Ticker {
    #[rpc::stream]
    fn ticks(&self, count: u64) -> impl Stream<Item = Tick> + Send {
        stream::iter((0..count).map(|n| Tick { n }))
    }
}

fn main() {}
