//! The in-memory pair: the whole protocol between two sessions with no
//! socket, so time can be paused and every timeout passes in an instant.

mod common;

use std::time::Duration;

use common::{FnRouter, session_config};
use rpc::{Client, ClientConfig, Server, ServerConfig, protocol::close_code, testing};
use tokio::time::Instant;

fn calculator() -> FnRouter {
    FnRouter::new("Calc")
        .call("add", |req| async move {
            let (a, b): (i64, i64) = req.args()?;
            req.reply(&(a + b))
        })
        .call("never", |req| async move {
            std::future::pending::<()>().await;
            req.reply(&())
        })
}

fn server(config: rpc::SessionConfig) -> rpc::ServerBuilder {
    Server::builder()
        .config(ServerConfig::default().session(config))
        .mount(calculator().finished())
}

fn client(config: rpc::SessionConfig) -> rpc::ClientBuilder {
    Client::builder()
        .config(ClientConfig::default().session(config))
        .mount(
            FnRouter::new("Doubler")
                .call("double", |req| async move {
                    let (x,): (i64,) = req.args()?;
                    req.reply(&(2 * x))
                })
                .finished(),
        )
}

#[tokio::test(start_paused = true)]
async fn calls_go_both_ways_and_discover_answers() {
    let pair = testing::pair(server(session_config()), client(session_config()))
        .await
        .unwrap();
    let sum: i64 = pair.client.peer().call("add", &(2, 3)).await.unwrap();
    assert_eq!(sum, 5);
    let doubled: i64 = pair.server.peer().call("double", &(21,)).await.unwrap();
    assert_eq!(doubled, 42);
    let routers = pair.client.peer().discover().await.unwrap();
    assert_eq!(routers[0].name, "Calc");
    assert_eq!(pair.server.registry().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_call_times_out_on_the_paused_clock_to_the_millisecond() {
    let pair = testing::pair(server(session_config()), client(session_config()))
        .await
        .unwrap();
    let started = Instant::now();
    let options = rpc::CallOptions::default().timeout(Duration::from_secs(30));
    let err = pair
        .client
        .peer()
        .call_with::<_, ()>("never", &(), options)
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn heartbeats_keep_a_quiet_pair_open_and_idle_timeout_closes_it() {
    let config = session_config()
        .ping_interval(Some(Duration::from_secs(20)))
        .pong_timeout(Duration::from_secs(5));
    let pair = testing::pair(server(config.clone()), client(config))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(!pair.client.peer().is_closed(), "an hour of answered pings");

    let idle = session_config().idle_timeout(Some(Duration::from_secs(60)));
    let pair = testing::pair(server(idle.clone()), client(session_config()))
        .await
        .unwrap();
    let quiet = Instant::now();
    let reason = pair.client.peer().closed().await;
    assert_eq!(quiet.elapsed(), Duration::from_secs(60));
    assert_eq!(reason.code, close_code::GOING_AWAY);
    assert!(reason.by_peer);
}

#[tokio::test(start_paused = true)]
async fn a_message_over_the_receivers_limit_fails_locally_and_refused_routers_fail_the_pair() {
    let small = session_config().max_message_size(1024).max_reassembly(1024);
    let pair = testing::pair(server(small), client(session_config()))
        .await
        .unwrap();
    let err = pair
        .client
        .peer()
        .call::<_, i64>("add", &"x".repeat(2048))
        .await
        .unwrap_err();
    assert!(
        matches!(err, rpc::Error::TooLarge { max: 1024, .. }),
        "{err:?}"
    );

    let clash = Server::builder()
        .mount(calculator().finished())
        .mount(calculator().finished());
    let err = testing::pair(clash, Client::builder()).await.unwrap_err();
    assert!(matches!(err, testing::PairError::Server(_)), "{err:?}");
}
