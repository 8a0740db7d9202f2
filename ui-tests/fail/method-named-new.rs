struct Accounts;

#[rpc::router]
impl Accounts {
    #[rpc::call]
    async fn new(&self, name: String) -> u64 {
        name.len() as u64
    }

    #[rpc::cast]
    async fn with_options(&self, verbose: bool) {
        let _ = verbose;
    }
}

fn main() {}
