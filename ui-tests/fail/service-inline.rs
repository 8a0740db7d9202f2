#[rpc::service(inline)]
pub trait Calculator {
    #[rpc::call]
    async fn add(&self, a: i64, b: i64) -> i64;
}

fn main() {}
