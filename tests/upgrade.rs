//! The server's side of the upgrade: answers to requests that are not
//! WebSocket upgrades, no byte lost past the request head, and browser
//! safety (the `Origin` allowlist, a required subprotocol, client addresses
//! forwarded by trusted proxies).

mod common;

use std::{
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
};

use common::{FnRouter, raw, server_config, url, within};
use rpc::{Client, Server, ServerConfig};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A server whose `whereami` call answers the session's remote address and
/// whose hook records the addresses it saw.
async fn server(config: ServerConfig) -> (Server, Arc<Mutex<Vec<(SocketAddr, SocketAddr)>>>) {
    let router = FnRouter::new("Where").call("whereami", |req| async move {
        req.reply(&req.session().remote_addr().map(|addr| addr.to_string()))
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook_seen = Arc::clone(&seen);
    let server = Server::builder()
        .config(config)
        .mount(router.finished())
        .authenticate(move |request| {
            let addrs = (request.remote_addr().unwrap(), request.peer_addr().unwrap());
            hook_seen.lock().unwrap().push(addrs);
            Ok(None)
        })
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    (server, seen)
}

/// Sends `request` as it is and returns the whole answer.
async fn exchange(addr: SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    within("answer", tcp.read_to_end(&mut answer))
        .await
        .unwrap();
    String::from_utf8(answer).unwrap()
}

/// An upgrade request with `headers` (each ending in CRLF) after the
/// request line and `Host`.
fn request(method: &str, headers: &str) -> String {
    format!("{method} / HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n")
}

const UPGRADE: &str = "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n";
const KEY: &str = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
const VERSION: &str = "Sec-WebSocket-Version: 13\r\n";

#[tokio::test]
async fn requests_that_are_not_websocket_upgrades_are_answered_with_their_fault() {
    let (server, seen) = server(server_config()).await;
    let addr = server.local_addr().unwrap();

    let answer = exchange(addr, &request("GET", "")).await;
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
    assert!(answer.contains("Upgrade: websocket\r\n"), "{answer}");

    let answer = exchange(addr, &request("POST", &format!("{UPGRADE}{KEY}{VERSION}"))).await;
    assert!(answer.starts_with("HTTP/1.1 405 "), "{answer}");
    assert!(answer.contains("Allow: GET\r\n"), "{answer}");

    let old = format!("{UPGRADE}{KEY}Sec-WebSocket-Version: 8\r\n");
    let answer = exchange(addr, &request("GET", &old)).await;
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
    assert!(answer.contains("Sec-WebSocket-Version: 13\r\n"), "{answer}");

    let answer = exchange(addr, &request("GET", &format!("{UPGRADE}{VERSION}"))).await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.ends_with("missing Sec-WebSocket-Key"), "{answer}");

    let http10 = format!("GET / HTTP/1.0\r\n{UPGRADE}{KEY}{VERSION}\r\n");
    let answer = exchange(addr, &http10).await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");

    // Not HTTP at all: dropped without an answer.
    assert_eq!(exchange(addr, "\x16\x03\x01 hello\r\n\r\n").await, "");
    // None of them reached the hook.
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn bytes_sent_with_the_upgrade_request_are_not_lost() {
    let (server, _) = server(server_config()).await;
    let mut tcp = TcpStream::connect(server.local_addr().unwrap())
        .await
        .unwrap();
    // The request and the protocol's `Hello` in one write.
    let mut bytes = request("GET", &format!("{UPGRADE}{KEY}{VERSION}")).into_bytes();
    bytes.extend(raw::masked_frame(0x82, &raw::hello(2, 2, raw::UNLIMITED)));
    tcp.write_all(&bytes).await.unwrap();
    let mut answer = Vec::new();
    while !answer.ends_with(b"\r\n\r\n") {
        answer.push(within("101", tcp.read_u8()).await.unwrap());
    }
    let head = String::from_utf8(answer).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    // RFC 6455's own example key and accept value.
    assert!(
        head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{head}"
    );
    // `Welcome`, a binary frame, answers the `Hello` sent with the request.
    assert_eq!(within("welcome", tcp.read_u8()).await.unwrap(), 0x82);
}

#[tokio::test]
async fn an_origin_outside_the_allowlist_is_refused_with_403() {
    let config = server_config().allowed_origins(["https://app.example.com"]);
    let (server, seen) = server(config).await;
    let url = url(&server);
    let connect = |origin: &'static str| Client::builder().header("Origin", origin).connect(&url);

    let err = within("connect", connect("https://evil.example"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err:?}");
    assert!(err.to_string().contains("origin not allowed"), "{err}");
    assert!(seen.lock().unwrap().is_empty(), "the hook ran");

    within("connect", connect("https://APP.example.com"))
        .await
        .unwrap();
    // No `Origin`: not a browser, let through.
    within("connect", Client::connect(&url)).await.unwrap();
}

#[tokio::test]
async fn a_required_subprotocol_must_be_offered() {
    let (server, _) = server(server_config().subprotocol("rpc.v2")).await;

    let err = within("connect", Client::connect(&url(&server)))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    assert!(err.to_string().contains("`rpc.v2`"), "{err}");

    let err = within(
        "connect",
        Client::builder()
            .header("Sec-WebSocket-Protocol", "rpc.v1")
            .connect(&url(&server)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");

    // The client checks that the server answered with one it offered.
    let client = within(
        "connect",
        Client::builder()
            .header("Sec-WebSocket-Protocol", "rpc.v1, rpc.v2")
            .connect(&url(&server)),
    )
    .await
    .unwrap();
    let _: Option<String> = client.peer().call("whereami", &()).await.unwrap();
}

async fn whereami(server: &Server) -> String {
    let client = within(
        "connect",
        Client::builder()
            .header("X-Forwarded-For", "198.51.100.1, 203.0.113.7")
            .connect(&url(server)),
    )
    .await
    .unwrap();
    let addr: Option<String> = client.peer().call("whereami", &()).await.unwrap();
    addr.unwrap()
}

#[tokio::test]
async fn a_trusted_proxy_forwards_the_client_address() {
    let localhost = IpAddr::from([127, 0, 0, 1]);
    let (server, seen) = server(server_config().trusted_proxies([localhost])).await;
    assert_eq!(whereami(&server).await, "203.0.113.7:0");
    let (remote, peer) = seen.lock().unwrap()[0];
    assert_eq!(remote.to_string(), "203.0.113.7:0");
    assert_eq!(peer.ip(), localhost);
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
    let proxy = IpAddr::from([10, 0, 0, 1]);
    let (server, seen) = server(server_config().trusted_proxies([proxy])).await;
    let addr: SocketAddr = whereami(&server).await.parse().unwrap();
    assert!(addr.ip().is_loopback(), "{addr}");
    let (remote, peer) = seen.lock().unwrap()[0];
    assert_eq!(remote, peer);
    assert_eq!(remote, addr);
}

#[test]
fn browser_settings_that_cannot_work_are_refused() {
    let invalid = [
        (
            "allowed_origins",
            server_config().allowed_origins(["https://app.example.com/"]),
        ),
        (
            "allowed_origins",
            server_config().allowed_origins(["app.example.com"]),
        ),
        ("subprotocol", server_config().subprotocol("rpc v2")),
        ("subprotocol", server_config().subprotocol("")),
        (
            "trusted_proxies",
            server_config().trusted_proxies([IpAddr::from([0, 0, 0, 0])]),
        ),
    ];
    for (field, config) in invalid {
        let err = config.validate().unwrap_err();
        assert_eq!(err.field(), field, "{err}");
    }
    assert!(
        server_config()
            .allowed_origins(["http://localhost:8080", "https://app.example.com"])
            .subprotocol("rpc.v2")
            .validate()
            .is_ok()
    );
}
