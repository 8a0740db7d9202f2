//! Criterion: what opening a server stream costs the caller, through a real
//! server on loopback in this process, in both runtime placements.
//!
//! - `open`: until `Peer::open` returns. It waits for the callee's
//!   `Accepted` (its handler started), so this is one round trip.
//! - `open+first item`: until the first item arrives, what a subscriber
//!   waits for in any case.
//! - `call`: a plain call, the round trip the other two compare with.

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::{StreamExt, stream};
use rpc::StreamOptions;
use rpc_bench::runtime::Placement;

struct Feed {
    item: u64,
}

#[rpc::router]
impl Feed {
    /// One item, then the end.
    #[rpc::stream]
    fn one(&self) -> impl futures_util::Stream<Item = u64> + Send + 'static {
        stream::iter([self.item])
    }

    #[rpc::call]
    async fn ping(&self) -> u64 {
        self.item
    }
}

fn stream_open(c: &mut Criterion) {
    // Two workers first: pinning for one-cpu is inherited by threads made later.
    for placement in [Placement::TwoWorkers, Placement::OneCpu] {
        let runtime = placement.runtime().expect("runtime");
        let (server, client) = runtime.block_on(rpc_bench::serve_and_connect(Feed { item: 7 }));
        let feed = FeedClient::new(client.peer());
        let mut group = c.benchmark_group(format!("stream-open/{}", placement.name()));
        group.bench_function("open", |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let items = feed
                        .one_with(StreamOptions::default())
                        .await
                        .expect("opens");
                    drop(items);
                });
            });
        });
        group.bench_function("open+first item", |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let mut items = feed.one().await.expect("opens");
                    assert_eq!(items.next().await.expect("an item").expect("decodes"), 7);
                });
            });
        });
        group.bench_function("call", |b| {
            b.iter(|| {
                assert_eq!(runtime.block_on(feed.ping()).expect("answers"), 7);
            });
        });
        group.finish();
        runtime.block_on(async {
            client.close().await;
            server.shutdown().await;
        });
    }
}

criterion_group!(benches, stream_open);
criterion_main!(benches);
