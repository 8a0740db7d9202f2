use rpc::Incoming;

#[derive(serde::Serialize)]
struct Chunk {
    bytes: Vec<u8>,
}

struct Store;

#[rpc::router]
impl Store {
    #[rpc::stream]
    async fn store(&self, chunks: Incoming<Chunk>) -> u64 {
        let _ = chunks;
        0
    }
}

fn main() {}
