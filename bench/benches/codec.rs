//! Criterion: a call frame and a reply frame through `rpc::codec`, encode
//! and decode, with the arguments `(i64, i64)` and the answer `i64` of the
//! end-to-end workloads.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use rpc::{
    codec,
    protocol::{Call, Frame, Reply},
};

const MAX: usize = 16 << 20;

fn encode_call(id: u64, args: &(i64, i64)) -> Bytes {
    let frame = Frame::Call(Call {
        id,
        method: "add",
        headers: Vec::new(),
    });
    codec::encode_with(&frame, args).expect("call encodes")
}

fn decode_call(message: &Bytes) -> (u64, (i64, i64)) {
    let decoded = codec::decode(message, MAX).expect("call decodes");
    let Frame::Call(call) = decoded.frame else {
        unreachable!("encoded a call")
    };
    let args = codec::decode_value(&decoded.payload).expect("arguments decode");
    (call.id, args)
}

fn encode_reply(id: u64, value: i64) -> Bytes {
    codec::encode_with(&Frame::Reply(Reply { id }), &value).expect("reply encodes")
}

fn decode_reply(message: &Bytes) -> (u64, i64) {
    let decoded = codec::decode(message, MAX).expect("reply decodes");
    let Frame::Reply(reply) = decoded.frame else {
        unreachable!("encoded a reply")
    };
    (
        reply.id,
        codec::decode_value(&decoded.payload).expect("value decodes"),
    )
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    let args = (2i64, -3i64);
    let call = encode_call(42, &args);
    let reply = encode_reply(42, -1);
    group.bench_function("call encode", |b| {
        b.iter(|| encode_call(black_box(42), black_box(&args)));
    });
    group.bench_function("call decode", |b| {
        b.iter(|| decode_call(black_box(&call)));
    });
    group.bench_function("call encode+decode", |b| {
        b.iter(|| decode_call(&encode_call(black_box(42), black_box(&args))));
    });
    group.bench_function("reply encode+decode", |b| {
        b.iter(|| decode_reply(&encode_reply(black_box(42), black_box(-1))));
    });
    group.bench_function("reply decode", |b| {
        b.iter(|| decode_reply(black_box(&reply)));
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
