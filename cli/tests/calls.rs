//! `rpc call`, `rpc stream` and `rpc listen` against an in-process server:
//! JSON arguments in order or by name, answers and stream items as JSON,
//! application errors with their decoded value, arguments that do not fit,
//! unknown methods, and notifications read after a subscribing call.

mod common;

use common::{fails, rpc, shop::shop, stderr, stderr_json, stdout};
use serde_json::json;

#[test]
fn call_with_positional_arguments_prints_the_answer() {
    let served = shop();
    rpc()
        .args(["call", &served.url, "add", "[40, 2]"])
        .assert()
        .success()
        .stdout("42\n");
}

#[test]
fn call_with_named_arguments_and_pretty_output() {
    let served = shop();
    let output = rpc()
        .args(["call", &served.url, "shop.prices"])
        .arg(r#"{"item": "apple", "qty": 2}"#)
        .arg("--pretty")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "[\n  3,\n  3\n]\n");
}

#[test]
fn an_application_error_exits_1_with_the_decoded_error_on_stderr() {
    let served = shop();
    let output = rpc()
        .args(["call", &served.url, "shop.prices", r#"["pear", null]"#])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    let error = stderr_json(&output);
    assert_eq!(error["code"], 3);
    assert_eq!(error["kind"], "application");
    assert_eq!(error["data"], json!("no pear here"));
    assert!(error["message"].is_string(), "{error}");
}

#[test]
fn arguments_that_do_not_fit_exit_2_naming_the_path() {
    let served = shop();
    let message = fails(
        rpc()
            .args(["call", &served.url, "shop.prices"])
            .arg(r#"{"item": "apple", "qty": "two"}"#),
        2,
    );
    assert!(message.starts_with("rpc: "), "{message}");
    assert!(message.contains("at $.qty: "), "{message}");
    assert!(
        message.contains("shop.prices(item: String, qty: Option<u32>)"),
        "{message}"
    );
}

#[test]
fn json_that_is_not_json_exits_2() {
    let served = shop();
    rpc()
        .args(["call", &served.url, "add", "[1,"])
        .assert()
        .code(2)
        .stderr(predicates::str::starts_with("rpc: ARGS_JSON is not JSON"));
}

#[test]
fn an_unknown_method_exits_2_listing_the_methods() {
    let served = shop();
    let message = fails(rpc().args(["call", &served.url, "sub", "[1, 2]"]), 2);
    assert!(
        message.starts_with("rpc: unknown method `sub`"),
        "{message}"
    );
    assert!(message.contains("add"), "{message}");
}

#[test]
fn calling_a_stream_exits_2_pointing_at_rpc_stream() {
    let served = shop();
    rpc()
        .args(["call", &served.url, "count", "[3]"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("use `rpc stream`"));
}

#[test]
fn stream_prints_one_line_per_item_and_stops_at_the_limit() {
    let served = shop();
    rpc()
        .args(["stream", &served.url, "count", "[3]"])
        .assert()
        .success()
        .stdout("0\n1\n2\n");
    rpc()
        .args([
            "stream",
            &served.url,
            "count",
            r#"{"n": 1000000}"#,
            "--limit",
            "2",
        ])
        .assert()
        .success()
        .stdout("0\n1\n");
}

#[test]
fn listen_prints_notifications_after_the_subscribing_call() {
    let served = shop();
    rpc()
        .args(["listen", &served.url, "note", "--type", "String"])
        .args(["--call", "subscribe", r#"["hi", 2]"#, "--limit", "2"])
        .assert()
        .success()
        .stdout("\"hi\"\n\"hi\"\n");
}

#[test]
fn listen_without_a_type_prints_the_bytes_in_base64() {
    let served = shop();
    let output = rpc()
        .args(["listen", &served.url, "note"])
        .args(["--call", "subscribe", r#"["hi", 1]"#, "--limit", "1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let line: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    // postcard: the length 2, then "hi".
    assert_eq!(line, json!({"topic": "note", "bytes": "Amhp"}));
}

#[test]
fn listen_with_a_timeout_and_nothing_pushed_exits_4() {
    let served = shop();
    rpc()
        .args(["listen", &served.url, "note", "--timeout", "0.3"])
        .assert()
        .code(4)
        .stderr(predicates::str::starts_with(
            "rpc: no notification on `note`",
        ));
}
