#[rpc::service]
pub trait Counter {
    #[rpc::call]
    async fn count(&self) -> usize;
}

struct Forgotten;

fn main() {
    let _ = rpc::Server::builder().mount(CounterRouter::new(Forgotten));
}
