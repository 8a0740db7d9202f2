struct Counter;

#[rpc::router]
impl Counter {
    #[rpc::call(inline = true)]
    async fn get(&self) -> u64 {
        0
    }
}

fn main() {}
