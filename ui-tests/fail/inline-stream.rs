use futures_util::{Stream, stream};

struct Ticker;

#[rpc::router]
impl Ticker {
    #[rpc::stream(name = "ticks", inline)]
    fn ticks(&self, n: u64) -> impl Stream<Item = u64> {
        stream::iter(0..n)
    }
}

fn main() {}
