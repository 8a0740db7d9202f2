//! TLS both ways, with certificates made at test time: a private authority
//! and a server certificate it signed for `localhost`; one for another host
//! and a self-signed one, each refused with a clear `ConnectError`; a
//! plain client turned away without disturbing the server.

mod common;

use common::{
    FnRouter,
    certs::{Authority, TempDir, self_signed},
    server_config, within,
};
use std::time::Duration;

use rpc::{Client, ClientTls, ConnectError, Server, ServerConfig, ServerTls};
use tokio::{io::AsyncReadExt, net::TcpStream};

/// A server of `add` on 127.0.0.1:0 presenting `cert` and `key`.
async fn serve(pem: (String, String)) -> Server {
    serve_with(pem, server_config()).await
}

async fn serve_with((cert, key): (String, String), config: ServerConfig) -> Server {
    let tls = ServerTls::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    calculator(tls, config)
        .bind("127.0.0.1:0")
        .await
        .expect("server binds 127.0.0.1:0")
}

/// A server of `add` presenting `tls`, not yet bound.
fn calculator(tls: ServerTls, config: ServerConfig) -> rpc::ServerBuilder {
    let router = FnRouter::new("Calc").call("add", |req| async move {
        let (a, b): (i64, i64) = req.args()?;
        req.reply(&(a + b))
    });
    Server::builder()
        .config(config)
        .tls(tls)
        .mount(router.finished())
}

fn wss(server: &Server) -> String {
    format!("wss://localhost:{}", server.local_addr().unwrap().port())
}

/// Asserts that `client` connects over TLS and is answered.
async fn assert_served(client: rpc::ClientBuilder, server: &Server) {
    let client = within("connect over tls", client.connect(&wss(server)))
        .await
        .expect("the client connects over tls");
    let sum: i64 = within("a call over tls", client.peer().call("add", &(2, 3)))
        .await
        .unwrap();
    assert_eq!(sum, 5);
    client.close().await;
}

#[tokio::test]
async fn a_client_that_trusts_the_authority_calls_over_wss() {
    let authority = Authority::new();
    // The server reads its certificate and key from files, as in production.
    let dir = TempDir::new("pem-files");
    let (cert_path, key_path) = dir.write_pem(authority.sign("localhost"));
    let tls = ServerTls::from_pem_files(&cert_path, &key_path).unwrap();
    let server = calculator(tls, server_config())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    assert_served(authority.client(), &server).await;
    // The platform's roots plus the authority work as well as it alone.
    let roots = ClientTls::webpki_roots()
        .add_ca_pem(authority.pem.as_bytes())
        .unwrap();
    assert_served(Client::builder().tls(roots), &server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused() {
    let authority = Authority::new();
    let server = serve(authority.sign("elsewhere.example")).await;
    let err = within("connect", authority.client().connect(&wss(&server)))
        .await
        .unwrap_err();
    let tls = err
        .tls()
        .unwrap_or_else(|| panic!("a tls error, not {err:?}"));
    assert!(tls.is_wrong_host() && tls.is_certificate(), "{tls:?}");
    assert_eq!(tls.to_string(), "certificate not valid for host");
    assert!(matches!(err, ConnectError::Tls(_)));
    server.shutdown().await;
}

#[tokio::test]
async fn a_certificate_no_trusted_authority_signed_is_refused() {
    let server = serve(self_signed()).await;
    // Neither the default roots (webpki's) nor another authority trust it.
    let default = within("connect", Client::connect(&wss(&server))).await;
    let other = within("connect", Authority::new().client().connect(&wss(&server))).await;
    for err in [default.unwrap_err(), other.unwrap_err()] {
        let tls = err
            .tls()
            .unwrap_or_else(|| panic!("a tls error, not {err:?}"));
        assert!(tls.is_unknown_issuer() && !tls.is_wrong_host(), "{tls:?}");
        assert!(tls.to_string().starts_with("unknown issuer"), "{tls}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_plain_client_is_turned_away_and_the_server_serves_on() {
    let authority = Authority::new();
    let server = serve(authority.sign("localhost")).await;
    let plain = format!("ws://{}", server.local_addr().unwrap());
    let err = within("a plain connect", Client::connect(&plain))
        .await
        .unwrap_err();
    assert!(err.tls().is_none(), "the client spoke no tls: {err:?}");
    assert_served(authority.client(), &server).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_silent_client_holds_its_own_task_only_until_the_handshake_timeout() {
    let authority = Authority::new();
    let config = server_config().handshake_timeout(Duration::from_millis(300));
    let server = serve_with(authority.sign("localhost"), config).await;
    // Connects and never says hello: the accept loop goes on regardless.
    let mut silent = TcpStream::connect(server.local_addr().unwrap())
        .await
        .unwrap();
    assert_served(authority.client(), &server).await;
    // Past the handshake timeout the server hangs up on it.
    let read = within("the silent client is dropped", silent.read(&mut [0; 64])).await;
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_over_the_connection_limit_is_told_503_over_tls() {
    let authority = Authority::new();
    let config = server_config().max_connections(1);
    let server = serve_with(authority.sign("localhost"), config).await;
    let first = within("connect", authority.client().connect(&wss(&server)))
        .await
        .unwrap();
    let err = within("connect", authority.client().connect(&wss(&server)))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err:?}");
    first.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_tls_client_of_a_plain_server_gets_a_tls_error() {
    let server = common::serve(FnRouter::new("Calc")).await;
    let url = format!("wss://localhost:{}", server.local_addr().unwrap().port());
    let err = within("connect", Authority::new().client().connect(&url))
        .await
        .unwrap_err();
    let tls = err
        .tls()
        .unwrap_or_else(|| panic!("a tls error, not {err:?}"));
    assert!(!tls.is_certificate(), "{tls:?}");
    common::assert_still_serving(&server).await;
    server.shutdown().await;
}

#[test]
fn bad_certificates_and_keys_are_refused_when_the_server_is_built() {
    let authority = Authority::new();
    let (cert, _) = authority.sign("localhost");
    let (_, other_key) = authority.sign("localhost");
    let mismatched = ServerTls::from_pem(cert.as_bytes(), other_key.as_bytes()).unwrap_err();
    assert_eq!(
        mismatched.to_string(),
        "the certificate and private key cannot be used"
    );
    let no_key = ServerTls::from_pem(cert.as_bytes(), cert.as_bytes()).unwrap_err();
    assert_eq!(no_key.to_string(), "no private key in the pem");
    let no_cert = ServerTls::from_pem(b"", other_key.as_bytes()).unwrap_err();
    assert_eq!(no_cert.to_string(), "no certificate in the pem");
    let missing = ServerTls::from_pem_files("/nonexistent/cert.pem", "key.pem").unwrap_err();
    assert_eq!(
        missing.to_string(),
        "could not read `/nonexistent/cert.pem`"
    );
    assert!(ClientTls::empty().add_ca_pem(b"not pem").is_err());
}

#[tokio::test]
async fn the_hook_sees_the_client_certificate_the_server_asked_for() {
    let servers = Authority::new();
    let clients = Authority::new();
    let (cert, key) = servers.sign("localhost");
    let tls = ServerTls::from_pem(cert.as_bytes(), key.as_bytes())
        .unwrap()
        .client_ca_pem(clients.pem.as_bytes())
        .unwrap();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let server = calculator(tls, server_config())
        .authenticate(move |request| {
            let chain = request.client_certificates().map(<[_]>::len);
            seen_tx.send(chain).unwrap();
            Ok(None)
        })
        .bind("127.0.0.1:0")
        .await
        .unwrap();

    // A client with a certificate the server's authority signed.
    let (client_cert, client_key) = clients.sign_client("alice");
    let with_certificate = ClientTls::empty()
        .add_ca_pem(servers.pem.as_bytes())
        .unwrap()
        .client_certificate_pem(client_cert.as_bytes(), client_key.as_bytes())
        .unwrap();
    assert_served(Client::builder().tls(with_certificate), &server).await;
    assert_eq!(
        seen.recv().await,
        Some(Some(1)),
        "one certificate, the client's"
    );

    // One without: let through, and the hook sees none.
    assert_served(servers.client(), &server).await;
    assert_eq!(seen.recv().await, Some(None));

    // One whose certificate another authority signed: refused in TLS.
    let (stranger_cert, stranger_key) = servers.sign_client("mallory");
    let stranger = ClientTls::empty()
        .add_ca_pem(servers.pem.as_bytes())
        .unwrap()
        .client_certificate_pem(stranger_cert.as_bytes(), stranger_key.as_bytes())
        .unwrap();
    let refused = within(
        "stranger",
        Client::builder().tls(stranger).connect(&wss(&server)),
    )
    .await;
    assert!(
        refused.is_err(),
        "an unverified client certificate is refused"
    );
    assert!(seen.try_recv().is_err(), "the hook never saw it");
}
