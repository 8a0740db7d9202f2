struct Log;

#[rpc::router]
impl Log {
    #[rpc::cast(idempotent)]
    async fn write(&self, line: String) {
        let _ = line;
    }
}

fn main() {}
