type NumberStream = futures_util::stream::Iter<std::vec::IntoIter<u64>>;

struct Totals;

#[rpc::router]
impl Totals {
    /// Answers once, so it is a call, not a stream.
    #[rpc::stream]
    async fn total(&self, of: Vec<u64>) -> u64 {
        of.iter().sum()
    }

    /// A stream type by name hides its item type.
    #[rpc::stream]
    async fn named(&self) -> NumberStream {
        futures_util::stream::iter(vec![1, 2])
    }

    /// Neither returns nor takes a stream.
    #[rpc::stream]
    async fn nothing(&self) {}
}

fn main() {}
