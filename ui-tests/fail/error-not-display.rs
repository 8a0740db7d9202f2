struct Calculator;

#[rpc::router]
impl Calculator {
    #[rpc::call]
    async fn div(&self, a: i64, b: i64) -> Result<i64, Vec<u8>> {
        a.checked_div(b).ok_or_else(Vec::new)
    }
}

fn main() {}
