#[rpc::service]
pub trait Store<T> {
    #[rpc::call]
    async fn get(&self, key: String) -> Option<String>;
}

fn main() {}
