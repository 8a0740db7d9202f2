use futures_util::{Stream, stream};

struct Feed;

#[rpc::router]
impl Feed {
    #[rpc::stream]
    fn prices(&self) -> impl Stream<Item = u64> {
        stream::empty()
    }

    #[rpc::call]
    async fn prices_with(&self, currency: String) -> u64 {
        let _ = currency;
        0
    }
}

fn main() {}
