//! Criterion: dispatch through a 50-method hand-written router, written the
//! way `#[rpc::router]` will write it (a `match` on the method index, one
//! boxed future per call).
//!
//! `rpc::Request` has no public constructor, so [`Router::dispatch`] cannot be
//! driven without a connection. Two measurements stand in:
//!
//! - `dispatch/in-process`: the same steps rpc-core takes for each call,
//!   with rpc-core's own types where they are public: the name lookup in a
//!   `HashMap<String, Route>` (as `Routes::route`), the `Arc` clone of the
//!   router, the `match` that boxes the method's future, and that future:
//!   arguments through `codec::decode_value`, answer through
//!   `codec::encode_with(Frame::Reply ..)`. Nanoseconds.
//! - `dispatch/round-trip`: a real `Client::call` to the first and to the
//!   last of the 50 methods, through a real server in this process:
//!   microseconds, and no difference between the two.

use std::{
    collections::HashMap,
    hint::black_box,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, Waker},
};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use rpc::{
    ErrorCode, HandlerError, HandlerFuture, MethodInfo, MethodKind, ParamInfo, Request, Router,
    RouterInfo, codec,
    protocol::{Frame, Reply},
};

/// The router: 50 methods `m00` .. `m49`, each `(a: i64, b: i64) -> i64`.
struct Fifty;

static PARAMS: [ParamInfo; 2] = [ParamInfo::new("a", "i64"), ParamInfo::new("b", "i64")];

/// What the in-process measurement polls: the future a handler returns.
type ReplicaFuture = Pin<Box<dyn Future<Output = Result<Bytes, HandlerError>> + Send>>;

fn bad_arguments(err: &rpc::CodecError) -> HandlerError {
    HandlerError::new(ErrorCode::BAD_ARGUMENTS, err.to_string())
}

macro_rules! fifty {
    ($($index:literal => $name:literal),* $(,)?) => {
        static METHODS: [MethodInfo; 50] = [
            $(MethodInfo::new($name, MethodKind::Call, &PARAMS, "i64", "Adds its index.", None)),*
        ];

        impl Router for Fifty {
            fn info(&self) -> &'static RouterInfo {
                &FIFTY
            }

            fn dispatch(self: Arc<Self>, method: usize, request: Request) -> HandlerFuture {
                match method {
                    $($index => Box::pin(async move {
                        let (a, b): (i64, i64) = request.args()?;
                        request.reply(&(a + b + $index))
                    }),)*
                    _ => Box::pin(async move {
                        Err(HandlerError::new(ErrorCode::UNKNOWN_METHOD, "no such method"))
                    }),
                }
            }
        }

        impl Fifty {
            /// The same `match`, over the payload instead of a `Request`.
            fn dispatch_payload(self: Arc<Self>, method: usize, id: u64, payload: Bytes) -> ReplicaFuture {
                match method {
                    $($index => Box::pin(async move {
                        let (a, b): (i64, i64) =
                            codec::decode_value(&payload).map_err(|err| bad_arguments(&err))?;
                        codec::encode_with(&Frame::Reply(Reply { id }), &(a + b + $index))
                            .map_err(|err| HandlerError::new(ErrorCode::INTERNAL, err.to_string()))
                    }),)*
                    _ => Box::pin(async move {
                        Err(HandlerError::new(ErrorCode::UNKNOWN_METHOD, "no such method"))
                    }),
                }
            }
        }
    };
}

fifty!(
    0 => "m00",
    1 => "m01",
    2 => "m02",
    3 => "m03",
    4 => "m04",
    5 => "m05",
    6 => "m06",
    7 => "m07",
    8 => "m08",
    9 => "m09",
    10 => "m10",
    11 => "m11",
    12 => "m12",
    13 => "m13",
    14 => "m14",
    15 => "m15",
    16 => "m16",
    17 => "m17",
    18 => "m18",
    19 => "m19",
    20 => "m20",
    21 => "m21",
    22 => "m22",
    23 => "m23",
    24 => "m24",
    25 => "m25",
    26 => "m26",
    27 => "m27",
    28 => "m28",
    29 => "m29",
    30 => "m30",
    31 => "m31",
    32 => "m32",
    33 => "m33",
    34 => "m34",
    35 => "m35",
    36 => "m36",
    37 => "m37",
    38 => "m38",
    39 => "m39",
    40 => "m40",
    41 => "m41",
    42 => "m42",
    43 => "m43",
    44 => "m44",
    45 => "m45",
    46 => "m46",
    47 => "m47",
    48 => "m48",
    49 => "m49"
);

static FIFTY: RouterInfo = RouterInfo::new("Fifty", "Fifty methods.", &METHODS);

/// rpc-core's dispatch table, as `Routes` builds it: wire name to (router, method).
fn table() -> HashMap<String, (usize, usize)> {
    METHODS
        .iter()
        .enumerate()
        .map(|(index, m)| (m.name.to_string(), (0, index)))
        .collect()
}

/// Polls a handler future that never waits to completion.
fn complete(mut future: ReplicaFuture) -> Result<Bytes, HandlerError> {
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(result) => result,
        Poll::Pending => unreachable!("handlers of this router never wait"),
    }
}

fn in_process(c: &mut Criterion) {
    let table = table();
    let routers: Vec<Arc<Fifty>> = vec![Arc::new(Fifty)];
    let payload = Bytes::from(postcard::to_allocvec(&(2i64, -3i64)).expect("encodes"));
    let mut group = c.benchmark_group("dispatch/in-process");
    for name in ["m00", "m49"] {
        group.bench_function(format!("lookup {name}"), |b| {
            b.iter(|| table.get(black_box(name)).copied());
        });
        group.bench_function(format!("lookup+dispatch+poll {name}"), |b| {
            b.iter(|| {
                let (router, method) = table[black_box(name)];
                let router = Arc::clone(&routers[router]);
                complete(router.dispatch_payload(method, 7, payload.clone())).expect("answers")
            });
        });
    }
    group.finish();
}

fn round_trip(c: &mut Criterion) {
    let runtime = rpc_bench::runtime::Placement::TwoWorkers
        .runtime()
        .expect("runtime");
    let (server, client) = runtime.block_on(rpc_bench::serve_and_connect(Fifty));
    let mut group = c.benchmark_group("dispatch/round-trip");
    for (name, index) in [("m00", 0i64), ("m49", 49)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let sum: i64 = runtime
                    .block_on(client.peer().call(name, &(2i64, -3i64)))
                    .expect("call answers");
                assert_eq!(sum, -1 + index);
            });
        });
    }
    group.finish();
    runtime.block_on(async {
        client.close().await;
        server.shutdown().await;
    });
}

criterion_group!(benches, in_process, round_trip);
criterion_main!(benches);
