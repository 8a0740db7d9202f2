#[rpc::router]
pub trait Store {
    #[rpc::call]
    async fn get(&self, key: String) -> Option<String>;
}

fn main() {}
