//! `rpc discover`, its common options and its failures: the table and the
//! named types, `--json` for machines, `--header` reaching the server's
//! authentication hook, a refused upgrade, no server at all, and
//! `--timeout`.

mod common;

use common::{Served, fails, rpc, shop::Shop, shop::shop, stderr, stdout};
use rpc::{Identity, Refusal, Server};

#[test]
fn discover_prints_a_table_of_the_methods() {
    let served = shop();
    let output = rpc().args(["discover", &served.url]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let table = stdout(&output);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("ROUTER  KIND"), "{table}");
    let prices = lines
        .iter()
        .find(|line| line.contains("shop.prices("))
        .expect("a row for shop.prices");
    assert!(prices.starts_with("Shop    call"), "{prices}");
    assert!(
        prices.contains("shop.prices(item: String, qty: Option<u32>) -> Result<Vec<u64>, String>"),
        "{prices}"
    );
    assert!(
        prices.ends_with("The prices of `qty` items of `item`, one per unit."),
        "{prices}"
    );
    assert!(
        table.contains("count(n: u64) -> Stream<Item = u64>"),
        "{table}"
    );
    assert!(table.contains("Shop    cast"), "{table}");
}

#[test]
fn discover_json_is_the_answer_with_hashes_as_hex() {
    let served = shop();
    let output = rpc()
        .args(["discover", &served.url, "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let routers: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(routers[0]["name"], "Shop");
    let methods = routers[0]["methods"].as_array().unwrap();
    let add = methods.iter().find(|m| m["name"] == "add").unwrap();
    assert_eq!(add["kind"], "Call");
    assert_eq!(add["params"][0]["name"], "a");
    assert_eq!(add["schema"]["params"], serde_json::json!(["I64", "I64"]));
    let hash = add["schema"]["hash"].as_str().expect("the hash as text");
    assert_eq!(hash.len(), 16, "{hash}");
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{hash}");
}

/// The shop behind a hook that admits `authorization: Bearer let-me-in`.
fn guarded() -> Served {
    Served::start(|| {
        Server::builder().mount(Shop).authenticate(|request| {
            match request.header("authorization") {
                Some("Bearer let-me-in") => Ok(Some(Identity::new("tester"))),
                _ => Err(Refusal::unauthorized("a token, please")),
            }
        })
    })
}

#[test]
fn a_header_reaches_the_authentication_hook() {
    let served = guarded();
    rpc()
        .args(["call", &served.url, "add", "[1, 2]"])
        .args(["--header", "authorization=Bearer let-me-in"])
        .assert()
        .success()
        .stdout("3\n");
}

#[test]
fn a_refused_upgrade_exits_3_with_the_status_and_body() {
    let served = guarded();
    let message = fails(rpc().args(["discover", &served.url]), 3);
    assert!(
        message.starts_with("rpc: cannot connect to ws://"),
        "{message}"
    );
    assert!(message.contains("HTTP 401"), "{message}");
    assert!(message.contains("a token, please"), "{message}");
}

#[test]
fn no_server_exits_3() {
    // A port that was free a moment ago, and is again.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    drop(listener);
    let message = fails(rpc().args(["discover", &url]), 3);
    assert!(message.starts_with("rpc: cannot connect"), "{message}");
}

#[test]
fn an_answer_later_than_the_timeout_exits_4() {
    let served = shop();
    rpc()
        .args(["call", &served.url, "slow", "[5000]", "--timeout", "0.3"])
        .assert()
        .code(4)
        .stderr(predicates::str::starts_with("rpc: no answer within"));
}

#[test]
fn usage_errors_exit_2() {
    rpc().args(["call"]).assert().code(2);
    rpc()
        .args(["discover", "http://127.0.0.1:1/"])
        .assert()
        .code(2)
        .stderr(predicates::str::starts_with("rpc: "));
}

#[test]
fn help_lists_the_exit_codes() {
    rpc()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicates::str::contains("5  incompatible schema"));
}
