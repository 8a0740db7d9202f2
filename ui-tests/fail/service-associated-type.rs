#[rpc::service]
pub trait Store {
    type Key;

    #[rpc::call]
    async fn get(&self, key: String) -> Option<String>;
}

fn main() {}
