use futures_util::{Stream, stream};
use rpc::Incoming;

struct Pipe;

#[rpc::router]
impl Pipe {
    #[rpc::stream]
    async fn count(&self, lines: &Incoming<String>) -> u64 {
        let _ = lines;
        0
    }

    #[rpc::stream]
    fn forward(&self, lines: &mut rpc::Incoming<String>) -> impl Stream<Item = String> {
        let _ = lines;
        stream::empty()
    }
}

fn main() {}
