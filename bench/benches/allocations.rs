//! Allocations per frame and per call, counted by a counting global
//! allocator (`stats_alloc`) around the code measured. Prints a table:
//!
//! - the codec alone: encode and decode of a call and a reply frame;
//! - one whole call round trip, client and server in this process (so the
//!   count covers both sides), sequential calls on one connection, for
//!   `rpc`, `raw` and jsonrpsee.
//!
//! Run with `cargo bench -p rpc-bench --bench allocations`.

use std::{alloc::System, hint::black_box};

use bytes::Bytes;
use rpc::{
    codec,
    protocol::{Call, Frame, Reply},
};
use rpc_bench::{
    BenchError,
    systems::{self, BenchClient, ServeConfig, connect_many},
    with_client,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const CODEC_ITERATIONS: u32 = 10_000;
const CALLS: u32 = 20_000;
const WARMUP_CALLS: u32 = 2_000;

/// Allocations per iteration of `f`, and bytes allocated per iteration.
fn per_iteration(iterations: u32, mut f: impl FnMut()) -> (f64, f64) {
    let region = Region::new(GLOBAL);
    for _ in 0..iterations {
        f();
    }
    let change = region.change();
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    (
        change.allocations as f64 / f64::from(iterations),
        change.bytes_allocated as f64 / f64::from(iterations),
    )
}

fn call_frame() -> Bytes {
    let frame = Frame::Call(Call {
        id: 42,
        method: "add",
        headers: Vec::new(),
    });
    codec::encode_with(&frame, &(2i64, -3i64)).expect("encodes")
}

fn codec_rows() -> Vec<(String, (f64, f64))> {
    let call = call_frame();
    let reply = codec::encode_with(&Frame::Reply(Reply { id: 42 }), &-1i64).expect("encodes");
    vec![
        (
            "codec: call encode".into(),
            per_iteration(CODEC_ITERATIONS, || {
                black_box(call_frame());
            }),
        ),
        (
            "codec: call decode (header + arguments)".into(),
            per_iteration(CODEC_ITERATIONS, || {
                let decoded = codec::decode(black_box(&call), usize::MAX).expect("decodes");
                black_box(codec::decode_value::<(i64, i64)>(&decoded.payload).expect("decodes"));
            }),
        ),
        (
            "codec: reply encode".into(),
            per_iteration(CODEC_ITERATIONS, || {
                black_box(
                    codec::encode_with(&Frame::Reply(Reply { id: 42 }), &-1i64).expect("encodes"),
                );
            }),
        ),
        (
            "codec: reply decode (header + value)".into(),
            per_iteration(CODEC_ITERATIONS, || {
                let decoded = codec::decode(black_box(&reply), usize::MAX).expect("decodes");
                black_box(codec::decode_value::<i64>(&decoded.payload).expect("decodes"));
            }),
        ),
    ]
}

async fn round_trip<C: BenchClient>(system: systems::System) -> Result<(f64, f64), BenchError> {
    let server = systems::serve(
        system,
        ServeConfig {
            max_connections: 16,
        },
    )
    .await?;
    let clients = connect_many::<C>(server.addr(), 1, None, false).await?;
    let client = &*clients[0];
    for i in 0..WARMUP_CALLS {
        client.add(i.into(), 1).await?;
    }
    let region = Region::new(GLOBAL);
    for i in 0..CALLS {
        client.add(i.into(), 1).await?;
    }
    let change = region.change();
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    Ok((
        change.allocations as f64 / f64::from(CALLS),
        change.bytes_allocated as f64 / f64::from(CALLS),
    ))
}

fn main() -> Result<(), BenchError> {
    // `cargo bench -- --list` asks what there is to run: nothing to measure.
    if std::env::args().any(|arg| arg == "--list") {
        return Ok(());
    }
    let mut rows = codec_rows();
    let runtime = rpc_bench::runtime::Placement::TwoWorkers.runtime()?;
    for system in systems::System::ALL {
        let counted =
            runtime.block_on(async { with_client!(system, C => round_trip::<C>(system).await) })?;
        rows.push((
            format!("round trip, both sides: {}", system.name()),
            counted,
        ));
    }
    println!("| what | allocations | bytes allocated |\n| --- | ---: | ---: |");
    for (what, (allocations, bytes)) in rows {
        println!("| {what} | {allocations:.2} | {bytes:.0} |");
    }
    Ok(())
}
