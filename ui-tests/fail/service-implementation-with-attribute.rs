#[rpc::service]
pub trait Counter {
    #[rpc::call]
    async fn count(&self) -> usize;
}

struct Memory;

impl Counter for Memory {
    #[rpc::call]
    async fn count(&self) -> usize {
        0
    }
}

fn main() {}
