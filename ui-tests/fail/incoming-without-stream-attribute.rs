use futures_util::{Stream, stream};
use rpc::Incoming;

struct Uploads;

#[rpc::router]
impl Uploads {
    #[rpc::call]
    async fn store(&self, chunks: Incoming<Vec<u8>>) -> u64 {
        let _ = chunks;
        0
    }

    #[rpc::call]
    async fn feed(&self) -> impl Stream<Item = u64> {
        stream::empty()
    }
}

fn main() {}
