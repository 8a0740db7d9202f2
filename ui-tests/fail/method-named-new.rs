struct Accounts;

#[rpc::router]
impl Accounts {
    #[rpc::call]
    async fn new(&self, name: String) -> u64 {
        name.len() as u64
    }
}

fn main() {}
