struct Counter;

#[rpc::router]
impl Counter {
    #[rpc::call(idempotent = true)]
    async fn get(&self) -> u64 {
        0
    }
}

fn main() {}
