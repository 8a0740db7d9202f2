use futures_util::{Stream, stream};

struct Feed;

impl Feed {
    #[rpc::stream]
    fn prices(&self) -> impl Stream<Item = u64> {
        stream::empty()
    }
}

fn main() {}
