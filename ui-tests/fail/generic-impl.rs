struct Cache<T> {
    value: T,
}

#[rpc::router]
impl<T: Clone + Send + Sync + 'static> Cache<T> {
    #[rpc::call]
    async fn len(&self) -> usize {
        0
    }
}

fn main() {}
