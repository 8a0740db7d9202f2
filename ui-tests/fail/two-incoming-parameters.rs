use rpc::Incoming;

struct Merger;

#[rpc::router]
impl Merger {
    #[rpc::stream]
    async fn merge(&self, left: Incoming<u64>, right: Incoming<u64>) -> u64 {
        let _ = (left, right);
        0
    }
}

fn main() {}
