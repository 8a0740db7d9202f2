struct Clock;

#[rpc::router]
impl Clock {
    #[rpc::call]
    async fn now() -> u64 {
        0
    }
}

fn main() {}
