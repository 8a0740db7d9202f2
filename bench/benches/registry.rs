//! Criterion: the session registry at 100,000 sessions. A look-up by tag
//! (a room of 100), a look-up by identity (one session) and a broadcast to
//! a room of 100, each through the indexes (`Registry::find`,
//! `Registry::broadcast`) and through the scan the registry did before them
//! (`rpc::__bench::scan_find`, `scan_broadcast`: every session visited, its
//! tag lock taken).
//!
//! The sessions are made by `rpc::__bench::Sessions`: registered as a
//! server registers them, with their tags and identity, but without a
//! connection, so 100,000 of them fit in memory and are made in seconds.
//! Their tasks never run, so nothing drains their push queues: after the
//! first 1,024 broadcasts a room's queues are full and a broadcast reports
//! its members `full`, the same for both ways. Either way it costs one
//! queue attempt per member, and the look-up in front of it.

use std::{hint::black_box, time::Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rpc::{
    __bench::{Sessions, scan_broadcast, scan_find},
    Audience, Identity, Session,
};

const SESSIONS: usize = 100_000;
/// Rooms of `SESSIONS / ROOMS` = 100 members each.
const ROOMS: usize = 1_000;

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// 100,000 sessions: session `i` is user `user-i`, in room `r(i % 1000)`
/// and on floor `f(i % 10)`.
fn populate() -> (Sessions, Vec<Session>) {
    let before = resident_kib();
    let started = Instant::now();
    let mut sessions = Sessions::default();
    let held = (0..SESSIONS)
        .map(|i| {
            let session = sessions.open(Some(Identity::new(format!("user-{i}"))));
            session
                .join("room", format!("r{}", i % ROOMS))
                .expect("within the tag limit");
            session
                .join("floor", format!("f{}", i % 10))
                .expect("within the tag limit");
            session
        })
        .collect();
    let grown = resident_kib().saturating_sub(before);
    eprintln!(
        "registry: {SESSIONS} sessions made in {:.2?}, resident memory +{} MiB ({} bytes per session)",
        started.elapsed(),
        grown / 1024,
        grown * 1024 / SESSIONS as u64,
    );
    (sessions, held)
}

fn registry(c: &mut Criterion) {
    let (sessions, _held) = populate();
    let registry = sessions.registry();
    let room = Audience::Tag("room", "r500");
    let user = Audience::Identity("user-50000");
    assert_eq!(registry.find(room).len(), SESSIONS / ROOMS);
    assert_eq!(scan_find(registry, room).len(), SESSIONS / ROOMS);
    assert_eq!(registry.find(user).len(), 1);

    let mut group = c.benchmark_group("registry/100k");
    group.sample_size(20);
    group.bench_function("find tag (100): indexed", |b| {
        b.iter(|| registry.find(black_box(room)));
    });
    group.bench_function("find tag (100): scan", |b| {
        b.iter(|| scan_find(registry, black_box(room)));
    });
    group.bench_function("find identity (1): indexed", |b| {
        b.iter(|| registry.find(black_box(user)));
    });
    group.bench_function("find identity (1): scan", |b| {
        b.iter(|| scan_find(registry, black_box(user)));
    });
    group.bench_function("broadcast tag (100): indexed", |b| {
        b.iter(|| {
            registry
                .broadcast(black_box(room), "tick", &7u64)
                .expect("encodes")
        });
    });
    group.bench_function("broadcast tag (100): scan", |b| {
        b.iter(|| scan_broadcast(registry, black_box(room), "tick", &7u64).expect("encodes"));
    });
    group.finish();
}

criterion_group!(benches, registry);
criterion_main!(benches);
