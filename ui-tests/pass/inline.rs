//! `inline` on calls and casts, of an impl block and of a service trait:
//! `Router::runs_inline` is true exactly for those methods, by their index
//! in `info().methods`.

use futures_util::{Stream, stream};
use rpc::Router;

struct Counter;

#[rpc::router]
impl Counter {
    /// Answers from memory: worth running on the reader.
    #[rpc::call(inline)]
    async fn get(&self) -> u64 {
        7
    }

    #[rpc::call(timeout = "1s")]
    async fn save(&self) {}

    #[rpc::cast(name = "counter.bump", inline)]
    async fn bump(&self, by: u64) {
        let _ = by;
    }

    #[rpc::stream]
    fn watch(&self) -> impl Stream<Item = u64> {
        stream::iter(0..3)
    }

    #[rpc::call(idempotent, inline)]
    async fn reset(&self) -> u64 {
        0
    }
}

/// The same as a service.
#[rpc::service]
pub trait Tally {
    #[rpc::cast]
    async fn note(&self, text: String);

    #[rpc::call(inline)]
    async fn total(&self) -> u64;

    #[rpc::stream]
    fn watch(&self) -> impl Stream<Item = u64>;
}

struct Memory;

impl Tally for Memory {
    async fn note(&self, text: String) {
        let _ = text;
    }

    async fn total(&self) -> u64 {
        0
    }

    fn watch(&self) -> impl Stream<Item = u64> {
        stream::iter(0..3)
    }
}

/// Which methods, by name, run inline.
fn inline(router: &impl Router) -> Vec<(&'static str, bool)> {
    let methods = router.info().methods.iter().enumerate();
    methods
        .map(|(index, method)| (method.name.as_ref(), router.runs_inline(index)))
        .collect()
}

fn main() {
    assert_eq!(
        inline(&Counter),
        [
            ("get", true),
            ("save", false),
            ("counter.bump", true),
            ("watch", false),
            ("reset", true),
        ]
    );
    assert!(!Counter.runs_inline(5), "past the last method");
    assert_eq!(
        inline(&TallyRouter::new(Memory)),
        [("note", false), ("total", true), ("watch", false)]
    );
}
