//! The authentication hook, synchronous and async: refusal with any 4xx
//! before any session exists, and an identity, with the application's own
//! data, that handlers read from their session.

mod common;

use common::{FnRouter, server_config, url, within};
use rpc::{Client, Identity, Refusal, Server, UpgradeRequest};

async fn guarded_server() -> Server {
    let router = FnRouter::new("Me").call("whoami", |req| async move {
        let who = req.session().identity().map(|id| id.subject().to_owned());
        req.reply(&who)
    });
    Server::builder()
        .config(server_config())
        .mount(router.finished())
        .authenticate(|request| match request.header("authorization") {
            None => Err(Refusal::unauthorized("send an Authorization header")),
            Some("Bearer alice-token") => Ok(Some(Identity::new("alice"))),
            Some("Bearer anonymous") => Ok(None),
            Some(_) => Err(Refusal::forbidden("unknown token")),
        })
        .bind("127.0.0.1:0")
        .await
        .unwrap()
}

#[tokio::test]
async fn no_credentials_are_refused_with_401() {
    let server = guarded_server().await;
    let err = within("connect", Client::connect(&url(&server)))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(
        err.to_string().contains("send an Authorization header"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_credentials_are_refused_with_403() {
    let server = guarded_server().await;
    let err = within(
        "connect",
        Client::builder()
            .header("Authorization", "Bearer mallory")
            .connect(&url(&server)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), Some(403));
}

#[tokio::test]
async fn an_accepted_identity_reaches_the_handler() {
    let server = guarded_server().await;
    let client = within(
        "connect",
        Client::builder()
            .header("Authorization", "Bearer alice-token")
            .connect(&url(&server)),
    )
    .await
    .unwrap();
    let who: Option<String> = client.peer().call("whoami", &()).await.unwrap();
    assert_eq!(who.as_deref(), Some("alice"));

    let anonymous = Client::builder()
        .header("Authorization", "Bearer anonymous")
        .connect(&url(&server))
        .await
        .unwrap();
    let who: Option<String> = anonymous.peer().call("whoami", &()).await.unwrap();
    assert_eq!(who, None);
}

/// What the application attaches to an identity, read back by handlers.
#[derive(Debug, Clone, PartialEq)]
struct Claims {
    roles: Vec<String>,
    tenant: u32,
}

#[tokio::test]
async fn an_async_hook_sees_the_request_and_attaches_claims_handlers_read() {
    let router = FnRouter::new("Me").call("claims", |req| async move {
        let identity = req.session().identity().cloned();
        let claims = identity.as_ref().and_then(|id| id.get::<Claims>());
        req.reply(&claims.map(|c| (c.roles.clone(), c.tenant)))
    });
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let server = Server::builder()
        .config(server_config())
        .mount(router.finished())
        .authenticate_async(move |request: UpgradeRequest| {
            let seen_tx = seen_tx.clone();
            async move {
                // A look-up that awaits, as a database or a token service would.
                tokio::task::yield_now().await;
                let _ = seen_tx.send(request.clone());
                match request.query() {
                    Some("token=alice") => Ok(Some(Identity::new("alice").with(Claims {
                        roles: vec!["admin".into()],
                        tenant: 7,
                    }))),
                    Some("token=slow-down") => Err(Refusal::new(429, "too many attempts")),
                    _ => Err(Refusal::unauthorized("no token")),
                }
            }
        })
        .bind("127.0.0.1:0")
        .await
        .unwrap();

    let client = within(
        "connect",
        Client::builder()
            .header("X-Trace", "abc")
            .connect(&format!("{}/rpc?token=alice", url(&server))),
    )
    .await
    .unwrap();
    let claims: Option<(Vec<String>, u32)> = client.peer().call("claims", &()).await.unwrap();
    assert_eq!(claims, Some((vec!["admin".to_owned()], 7)));
    let request = seen.recv().await.unwrap();
    assert_eq!(request.path(), "/rpc");
    assert_eq!(request.header("x-trace"), Some("abc"));
    // The header map's types are reachable through `rpc::http`.
    let version: &rpc::http::HeaderValue =
        &request.headers()[rpc::http::header::SEC_WEBSOCKET_VERSION];
    assert_eq!(version, "13");
    let peer = request.remote_addr().unwrap();
    assert!(peer.ip().is_loopback(), "{peer}");
    assert_eq!(request.peer_addr(), Some(peer));
    assert!(request.client_certificates().is_none());

    let err = within(
        "connect",
        Client::connect(&format!("{}/rpc?token=slow-down", url(&server))),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert!(err.to_string().contains("too many attempts"), "{err}");
}

#[test]
#[should_panic(expected = "a refusal's status must be 4xx, not 500")]
fn a_refusal_is_a_client_error() {
    let _ = Refusal::new(500, "not ours to send");
}

#[tokio::test]
async fn a_hook_still_running_at_the_handshake_timeout_is_dropped() {
    let timeout = std::time::Duration::from_millis(200);
    let server = Server::builder()
        .config(server_config().handshake_timeout(timeout))
        .mount(FnRouter::new("Me").finished())
        .authenticate_async(|_request| std::future::pending())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let err = within("connect", Client::connect(&url(&server)))
        .await
        .unwrap_err();
    assert_eq!(err.status(), None, "{err:?}");
    assert!(started.elapsed() >= timeout, "{:?}", started.elapsed());
}
