//! Allocations of the codec per frame, counted by a counting global
//! allocator. One test in this binary, so no other test allocates meanwhile.
//! The ceilings are today's counts: a change that adds an allocation per
//! frame fails here; one that removes some should lower them.

use std::{alloc::System, hint::black_box};

use rpc::{
    codec,
    protocol::{Call, Frame, Reply},
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const ITERATIONS: usize = 1_000;

/// Allocations per call of `f`, after one call outside the count (the first
/// decode of a message promotes its `Bytes` to the shared form that
/// tungstenite's messages already have: slices of its read buffer).
fn allocations(mut f: impl FnMut()) -> usize {
    f();
    let region = Region::new(GLOBAL);
    for _ in 0..ITERATIONS {
        f();
    }
    // Rounded to the nearest: the allocator is global, and a stray
    // allocation of another thread (the test harness) must not count as one
    // per frame; a real one per frame adds a whole `ITERATIONS`.
    (region.change().allocations + ITERATIONS / 2) / ITERATIONS
}

#[test]
fn codec_allocations_per_frame_stay_within_todays_counts() {
    let encode_call = || {
        let frame = Frame::Call(Call {
            id: 42,
            method: "add",
            headers: Vec::new(),
        });
        codec::encode_with(&frame, &(2i64, -3i64)).unwrap()
    };
    let call = encode_call();
    let reply = codec::encode_with(&Frame::Reply(Reply { id: 42 }), &-1i64).unwrap();

    let counts = [
        (
            "call encode",
            allocations(|| drop(black_box(encode_call()))),
            CALL_ENCODE,
        ),
        (
            "call decode",
            allocations(|| {
                let decoded = codec::decode(black_box(&call), usize::MAX).unwrap();
                black_box(codec::decode_value::<(i64, i64)>(&decoded.payload).unwrap());
            }),
            CALL_DECODE,
        ),
        (
            "reply decode",
            allocations(|| {
                let decoded = codec::decode(black_box(&reply), usize::MAX).unwrap();
                black_box(codec::decode_value::<i64>(&decoded.payload).unwrap());
            }),
            REPLY_DECODE,
        ),
    ];
    for (what, counted, ceiling) in counts {
        println!("{what}: {counted} allocation(s) per frame (ceiling {ceiling})");
        assert!(
            counted <= ceiling,
            "{what}: {counted} allocations per frame, more than {ceiling}"
        );
    }
}

/// The encode buffer only: it is shrunk in place to its length before it
/// becomes `Bytes`, so `Bytes` needs no shared header of its own.
const CALL_ENCODE: usize = 1;
/// Decoding borrows the method name and slices the payload: nothing.
const CALL_DECODE: usize = 0;
/// Decoding borrows and slices: nothing.
const REPLY_DECODE: usize = 0;
