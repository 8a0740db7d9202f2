use std::rc::Rc;

use futures_util::{Stream, StreamExt, stream};

struct Shared;

#[rpc::router]
impl Shared {
    #[rpc::stream]
    fn numbers(&self) -> impl Stream<Item = u64> {
        let shared = Rc::new(5);
        stream::iter(0..3).map(move |n| n + *shared)
    }
}

fn main() {}
