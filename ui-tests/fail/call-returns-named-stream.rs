struct Counter;

#[rpc::router]
impl Counter {
    #[rpc::call]
    fn numbers(&self, count: u64) -> futures_util::stream::Iter<std::ops::Range<u64>> {
        futures_util::stream::iter(0..count)
    }
}

fn main() {}
