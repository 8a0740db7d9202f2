struct Counter {
    count: u64,
}

#[rpc::router]
impl Counter {
    #[rpc::call]
    async fn bump(&mut self) -> u64 {
        self.count += 1;
        self.count
    }
}

fn main() {}
