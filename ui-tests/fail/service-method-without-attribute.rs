#[rpc::service]
pub trait Auction {
    #[rpc::call]
    async fn bid(&self, lot: u32, amount: u64) -> u64;

    async fn highest(&self, lot: u32) -> u64;
}

fn main() {}
