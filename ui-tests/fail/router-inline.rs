struct Calculator;

#[rpc::router(inline)]
impl Calculator {
    #[rpc::call]
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

fn main() {}
