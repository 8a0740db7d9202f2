//! The authentication hook: refusal with 401/403 before any session exists,
//! and an identity that handlers read from their session.

mod common;

use common::{FnRouter, server_config, url, within};
use rpc::{Client, Identity, Refusal, Server};

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
    let who: Option<String> = client.call("whoami", &()).await.unwrap();
    assert_eq!(who.as_deref(), Some("alice"));

    let anonymous = Client::builder()
        .header("Authorization", "Bearer anonymous")
        .connect(&url(&server))
        .await
        .unwrap();
    let who: Option<String> = anonymous.call("whoami", &()).await.unwrap();
    assert_eq!(who, None);
}
