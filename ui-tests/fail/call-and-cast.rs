struct Logger;

#[rpc::router]
impl Logger {
    #[rpc::call]
    #[rpc::cast]
    async fn log(&self, line: String) {
        let _ = line;
    }
}

fn main() {}
