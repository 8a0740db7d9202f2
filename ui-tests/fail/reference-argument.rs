struct Greeter;

#[rpc::router]
impl Greeter {
    #[rpc::call]
    async fn greet(&self, name: &str) -> String {
        format!("hello {name}")
    }
}

fn main() {}
