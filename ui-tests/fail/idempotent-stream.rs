use futures_util::Stream;

#[rpc::service]
pub trait Prices {
    #[rpc::stream(name = "prices", idempotent)]
    fn watch(&self) -> impl Stream<Item = u64>;
}

fn main() {}
