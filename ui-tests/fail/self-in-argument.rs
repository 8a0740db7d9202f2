#[derive(Clone)]
struct Settings;

#[rpc::router]
impl Settings {
    #[rpc::call]
    async fn replace(&self, with: Vec<Self>) -> usize {
        with.len()
    }
}

fn main() {}
