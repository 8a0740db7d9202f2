//! `use rpc::prelude::*` is the only import a program serving and calling a
//! router needs to read a stream: no `futures` import for `StreamExt`.
//! (Making a stream is the application's business: here `futures`.)

use rpc::prelude::*;

struct Counter {
    from: u64,
}

#[rpc::router]
impl Counter {
    /// Counts from `from` to `to - 1`.
    #[rpc::stream]
    fn count(&self, to: u64) -> impl Stream<Item = u64> {
        futures_util::stream::iter(self.from..to)
    }
}

#[tokio::test]
async fn a_stream_is_served_and_read_with_the_prelude_alone() {
    let server = Server::builder()
        .mount(Counter { from: 1 })
        .bind("127.0.0.1:0")
        .await
        .expect("binds");
    let client = Client::connect(&format!(
        "ws://{}",
        server.local_addr().expect("an address")
    ))
    .await
    .expect("connects");
    let counter = CounterClient::new(client.peer());

    let read = async {
        let items: Vec<u64> = counter
            .count(4)
            .await
            .expect("opens")
            .map(|n| n.expect("an item"))
            .collect()
            .await;
        assert_eq!(items, [1, 2, 3]);
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), read)
        .await
        .expect("the stream ends within 5 s");
    server.shutdown().await;
}
