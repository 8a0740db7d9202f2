struct Counter;

#[rpc::router]
impl Counter {
    #[rpc::cast(inline, inline)]
    async fn bump(&self, by: u64) {
        let _ = by;
    }
}

fn main() {}
