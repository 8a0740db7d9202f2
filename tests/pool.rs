//! The pool: several reconnecting connections behind one caller, with
//! health-based routing, failover and circuit breakers, against real
//! servers on 127.0.0.1.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::{FnRouter, within};
use rpc::{
    BreakerConfig, BreakerState, CallOptions, Caller, Client, ClientConfig, ConnectError,
    ConnectionState, Error, Pool, ReconnectPolicy, Server,
};

/// A server whose `add` counts the calls it answered, and whose `slow`
/// never answers in time.
async fn counting_server() -> (Server, Arc<AtomicUsize>) {
    let served = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&served);
    let router = FnRouter::new("Calculator")
        .call("add", move |req| {
            let counted = Arc::clone(&counted);
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let (a, b): (i64, i64) = req.args()?;
                req.reply(&(a + b))
            }
        })
        .call("slow", |req| async move {
            std::future::pending::<()>().await;
            req.reply(&())
        });
    (common::serve(router).await, served)
}

fn pool_of(servers: &[&Server], breakers: BreakerConfig) -> Pool {
    Client::builder()
        .config(ClientConfig::default().session(common::session_config()))
        .reconnect()
        .policy(ReconnectPolicy::fixed(Duration::from_millis(20)))
        .breakers(breakers)
        .pool(servers.iter().map(|server| common::url(server)))
        .unwrap()
}

async fn all_connected(pool: &Pool) {
    for member in pool.members() {
        within(
            "a member to connect",
            member.connected(Duration::from_secs(5)),
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn calls_spread_over_the_servers_and_keep_succeeding_when_one_dies() {
    let (first, first_served) = counting_server().await;
    let (second, second_served) = counting_server().await;
    let pool = pool_of(&[&first, &second], BreakerConfig::default());
    all_connected(&pool).await;
    for i in 0..20_i64 {
        let sum: i64 = pool.call("add", &(i, 1_i64)).await.unwrap();
        assert_eq!(sum, i + 1);
    }
    let (a, b) = (
        first_served.load(Ordering::SeqCst),
        second_served.load(Ordering::SeqCst),
    );
    assert_eq!(a + b, 20);
    assert!(a > 0 && b > 0, "both take calls: {a} and {b}");

    first.shutdown().await;
    for i in 0..20_i64 {
        let sum: i64 = within("a call after the failover", pool.call("add", &(i, 2_i64)))
            .await
            .unwrap_or_else(|err| panic!("call {i} failed: {err:?}"));
        assert_eq!(sum, i + 2);
    }
    assert_eq!(second_served.load(Ordering::SeqCst), b + 20);
    assert_ne!(pool.members()[0].state(), ConnectionState::Connected);
    assert_eq!(pool.connected(), 1);
}

#[tokio::test]
async fn the_pool_routes_around_a_method_whose_breaker_is_open() {
    let (first, _) = counting_server().await;
    let (second, _) = counting_server().await;
    let breakers = BreakerConfig::default()
        .failure_threshold(2)
        .cooldown(Duration::from_secs(60));
    let pool = pool_of(&[&first, &second], breakers);
    all_connected(&pool).await;
    let quick = CallOptions::default().timeout(Duration::from_millis(50));
    // Every `slow` call times out: each member's breaker for it opens
    // after two, and then the pool fails fast without sending.
    let mut timeouts = 0;
    let refusal = loop {
        match pool
            .call_with::<_, ()>("slow", &(), quick.clone())
            .await
            .unwrap_err()
        {
            Error::Timeout(_) => timeouts += 1,
            other => break other,
        }
        assert!(timeouts <= 4, "breakers open after two timeouts each");
    };
    assert_eq!(timeouts, 4);
    assert!(matches!(refusal, Error::CircuitOpen { .. }), "{refusal:?}");
    assert!(refusal.is_retryable());
    for member in pool.members() {
        assert!(matches!(
            member.method_breaker_state("slow"),
            Some(BreakerState::Open { .. })
        ));
        // One broken method does not take the endpoint out of service.
        assert_eq!(member.breaker_state(), Some(BreakerState::Closed));
    }
    let sum: i64 = pool.call("add", &(1_i64, 1_i64)).await.unwrap();
    assert_eq!(sum, 2);
}

#[tokio::test]
async fn a_method_breaker_open_on_one_member_leaves_its_other_methods_in_service() {
    let (first, first_served) = counting_server().await;
    let (second, second_served) = counting_server().await;
    let breakers = BreakerConfig::default()
        .failure_threshold(1)
        .cooldown(Duration::from_secs(60));
    let pool = pool_of(&[&first, &second], breakers);
    all_connected(&pool).await;
    // `slow` on the first member times out once: its breaker opens.
    let first_member = &pool.members()[0];
    let err = first_member
        .call_with::<_, ()>(
            "slow",
            &(),
            CallOptions::default().timeout(Duration::from_millis(50)),
        )
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert!(matches!(
        first_member.method_breaker_state("slow"),
        Some(BreakerState::Open { .. })
    ));
    // `add` still goes to both: the breaker is the method's.
    for _ in 0..10 {
        let _: i64 = pool.call("add", &(1_i64, 1_i64)).await.unwrap();
    }
    assert!(first_served.load(Ordering::SeqCst) > 0);
    assert!(second_served.load(Ordering::SeqCst) > 0);
}

#[tokio::test]
async fn the_longest_timeout_means_never_through_a_pool() {
    let (server, _) = counting_server().await;
    let pool = pool_of(&[&server], BreakerConfig::default());
    all_connected(&pool).await;
    let never = CallOptions::default().timeout(Duration::MAX);
    let sum: i64 = within(
        "a call with no deadline",
        pool.call_with("add", &(1_i64, 2_i64), never),
    )
    .await
    .unwrap();
    assert_eq!(sum, 3);
}

#[tokio::test]
async fn a_pool_needs_a_url() {
    let err = Client::builder()
        .reconnect()
        .pool(Vec::<String>::new())
        .unwrap_err();
    assert!(matches!(err, ConnectError::InvalidUrl { .. }), "{err:?}");
}

#[tokio::test]
async fn latency_statistics_count_every_call_of_a_member() {
    let (server, _) = counting_server().await;
    let pool = pool_of(&[&server], BreakerConfig::default());
    all_connected(&pool).await;
    for _ in 0..25 {
        let _: i64 = pool.call("add", &(1_i64, 1_i64)).await.unwrap();
    }
    let latency = pool.members()[0].latency();
    assert_eq!(latency.count, 25);
    assert_eq!(latency.errors, 0);
    assert!(latency.p50 > Duration::ZERO);
    assert!(latency.p50 <= latency.p90 && latency.p90 <= latency.p99 && latency.p99 <= latency.max);
    assert!(latency.ewma.is_some());
    assert_eq!(pool.members()[0].in_flight(), 0);
}
