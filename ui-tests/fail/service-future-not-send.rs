use std::rc::Rc;

#[rpc::service]
pub trait Counter {
    #[rpc::call]
    async fn count(&self) -> usize;
}

struct Local;

async fn yield_now() {}

impl Counter for Local {
    async fn count(&self) -> usize {
        let shared = Rc::new(5);
        yield_now().await;
        *shared
    }
}

fn main() {}
