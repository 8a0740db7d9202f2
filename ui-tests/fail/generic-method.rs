struct Store;

#[rpc::router]
impl Store {
    #[rpc::call]
    async fn put<T: Clone>(&self, value: T) {
        let _ = value;
    }
}

fn main() {}
