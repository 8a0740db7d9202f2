struct Calculator;

#[rpc::router]
impl Calculator {
    #[rpc::call]
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    #[rpc::call(name = "add")]
    async fn add_all(&self, values: Vec<i64>) -> i64 {
        values.iter().sum()
    }
}

fn main() {}
