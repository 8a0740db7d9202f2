trait Ping {
    async fn ping(&self);
}

struct Server;

#[rpc::router]
impl Ping for Server {
    #[rpc::call]
    async fn ping(&self) {}
}

fn main() {}
