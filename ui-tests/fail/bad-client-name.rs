#[rpc::service(client = "Auction Client")]
pub trait Auction {
    #[rpc::call]
    async fn bid(&self, lot: u32, amount: u64) -> u64;
}

fn main() {}
