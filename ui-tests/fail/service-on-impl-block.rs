struct Store;

#[rpc::service]
impl Store {
    #[rpc::call]
    async fn get(&self, key: String) -> Option<String> {
        let _ = key;
        None
    }
}

fn main() {}
