use std::rc::Rc;

struct Counter;

async fn yield_now() {}

#[rpc::router]
impl Counter {
    #[rpc::call]
    async fn count(&self) -> usize {
        let shared = Rc::new(5);
        yield_now().await;
        *shared
    }
}

fn main() {}
