struct Logger;

#[rpc::router]
impl Logger {
    #[rpc::cast]
    async fn log(&self, line: String) -> usize {
        line.len()
    }
}

fn main() {}
