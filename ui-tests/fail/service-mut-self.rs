#[rpc::service]
pub trait Counter {
    #[rpc::call]
    async fn bump(&mut self) -> u64;
}

fn main() {}
