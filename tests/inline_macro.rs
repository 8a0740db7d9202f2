//! `#[rpc::call(inline)]` and `#[rpc::cast(inline)]`: the generated router
//! says which of its methods start on the session's reader through
//! `Router::runs_inline`, by their index in `info().methods` (the index
//! `dispatch` takes), for an impl block and for a service trait alike.
//! How the session runs them is rpc-core's to test.

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{Stream, stream};
use rpc::{MethodKind, Router};

/// A counter whose reads and bumps answer from memory.
#[derive(Default)]
struct Counter {
    count: AtomicU64,
}

#[rpc::router]
impl Counter {
    /// Reads the count.
    #[rpc::call(inline)]
    async fn get(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Waits before answering: left on the handler pool.
    #[rpc::call(timeout = "1s")]
    async fn slow(&self) -> u64 {
        tokio::task::yield_now().await;
        self.count.load(Ordering::Relaxed)
    }

    /// Adds to the count.
    #[rpc::cast(name = "counter.bump", inline)]
    async fn bump(&self, by: u64) {
        self.count.fetch_add(by, Ordering::Relaxed);
    }

    /// Counts from the count up to `n`.
    #[rpc::stream]
    fn upto(&self, n: u64) -> impl Stream<Item = u64> + Send + 'static {
        stream::iter(self.count.load(Ordering::Relaxed)..n)
    }

    /// Writes a line to nowhere.
    #[rpc::cast]
    async fn log(&self, line: String) {
        let _ = line;
    }

    /// Sets the count back to zero.
    #[rpc::call(idempotent, inline)]
    async fn reset(&self) -> u64 {
        self.count.swap(0, Ordering::Relaxed)
    }
}

/// A service with one inline method, last.
#[rpc::service]
pub trait Tally {
    /// Notes a line.
    #[rpc::cast]
    async fn note(&self, text: String);

    /// The notes so far.
    #[rpc::call(inline)]
    async fn total(&self) -> u64;
}

struct Notes;

impl Tally for Notes {
    async fn note(&self, text: String) {
        let _ = text;
    }

    async fn total(&self) -> u64 {
        0
    }
}

/// Each method's wire name, kind, and whether it runs inline, in the order
/// of `info().methods`.
fn inline_methods(router: &impl Router) -> Vec<(&'static str, MethodKind, bool)> {
    let info = router.info();
    info.methods
        .iter()
        .enumerate()
        .map(|(index, method)| (method.name.as_ref(), method.kind, router.runs_inline(index)))
        .collect()
}

#[test]
fn a_router_runs_exactly_its_inline_methods_inline() {
    let counter = Counter::default();
    assert_eq!(
        inline_methods(&counter),
        [
            ("get", MethodKind::Call, true),
            ("slow", MethodKind::Call, false),
            ("counter.bump", MethodKind::Cast, true),
            ("upto", MethodKind::Stream, false),
            ("log", MethodKind::Cast, false),
            ("reset", MethodKind::Call, true),
        ]
    );
    let past_the_end = counter.info().methods.len();
    assert!(!Router::runs_inline(&counter, past_the_end));
}

#[test]
fn a_service_router_runs_exactly_its_inline_methods_inline() {
    let router = TallyRouter::new(Notes);
    assert_eq!(
        inline_methods(&router),
        [
            ("note", MethodKind::Cast, false),
            ("total", MethodKind::Call, true),
        ]
    );
}

/// A router without `inline` keeps the provided method: no method inline.
#[test]
fn without_inline_no_method_runs_inline() {
    struct Plain;

    #[rpc::router]
    impl Plain {
        #[rpc::call]
        async fn ping(&self) {}

        #[rpc::cast]
        async fn poke(&self) {}
    }

    assert!(inline_methods(&Plain).iter().all(|(.., inline)| !inline));
}
