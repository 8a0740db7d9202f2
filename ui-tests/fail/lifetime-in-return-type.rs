struct Names {
    names: Vec<String>,
}

#[rpc::router]
impl Names {
    #[rpc::call]
    async fn first(&self) -> Option<&String> {
        self.names.first()
    }
}

fn main() {}
