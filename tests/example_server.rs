//! The `server` example, end to end: every method it serves, driven from a
//! client that serves the callback and receives the push, its `--token`,
//! `--max-connections`, `--tls-cert` and `--tls-key` flags, and the routers
//! it lists. The server is
//! built exactly as the example builds it, from the same command line.

mod common;

#[path = "../examples/routers/mod.rs"]
mod routers;

use common::{
    certs::{Authority, TempDir},
    within,
};
use futures_util::{StreamExt, stream};
use routers::{
    CalculatorClient, DivError, EchoClient, duplex::DuplexClient, setup::Options,
    streams::StreamsClient,
};
use rpc::{Client, ErrorCode, MethodKind, Server, StreamOptions};
use tokio::sync::mpsc;

/// What a peer that tests against the example serves: the callback and
/// the cast the push reaches.
struct Callbacks {
    notes: mpsc::UnboundedSender<String>,
}

/// The caller's side of `callback` and `notify`.
#[rpc::router]
impl Callbacks {
    /// Doubles `x`; the server calls it back.
    #[rpc::call]
    async fn double(&self, x: i64) -> i64 {
        x * 2
    }

    /// Receives the server's pushes on topic `note`.
    #[rpc::cast]
    async fn note(&self, text: String) {
        let _ = self.notes.send(text);
    }
}

/// Starts the example server from `flags` (after the address) on a free port.
async fn start(flags: &[&str]) -> Server {
    let args = ["127.0.0.1:0"]
        .iter()
        .chain(flags)
        .map(|&arg| arg.to_owned());
    let options = Options::parse(args).expect("the flags parse");
    options
        .install_metrics()
        .expect("the metrics exporter starts");
    options
        .builder()
        .bind(options.addr.as_str())
        .await
        .expect("the server binds")
}

fn url(server: &Server) -> String {
    format!("ws://{}", server.local_addr().unwrap())
}

/// A client serving the callbacks; the notes it receives arrive on the
/// returned channel.
async fn connect(server: &Server) -> (Client, mpsc::UnboundedReceiver<String>) {
    let (notes, received) = mpsc::unbounded_channel();
    let client = Client::builder()
        .mount(Callbacks { notes })
        .connect(&url(server))
        .await
        .expect("the client connects");
    (client, received)
}

#[tokio::test]
async fn calls_casts_and_errors_answer() {
    let server = start(&[]).await;
    let (client, _notes) = connect(&server).await;
    let calculator = CalculatorClient::new(client.peer());
    assert_eq!(calculator.add(40, 2).await.expect("add"), 42);
    assert_eq!(calculator.div(7, 2).await.expect("div"), Ok(3));
    assert_eq!(
        calculator.div(1, 0).await.expect("div"),
        Err(DivError::ByZero)
    );

    let echo = EchoClient::new(client.peer());
    assert_eq!(echo.echo("hi".to_owned()).await.expect("echo"), "hi");
    // Above the fragment size (64 KiB): fragmented both ways.
    let large: Vec<u8> = (0..200_000_u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(echo.bytes(large.clone()).await.expect("bytes"), large);
    let me = echo.whoami().await.expect("whoami");
    assert!(me.starts_with("session "), "{me}");
    echo.shout("a cast".to_owned()).await.expect("shout");

    assert_eq!(echo.slow(0).await.expect("slow"), 0);
    let late = echo.slow(10_000).await.expect_err("past the deadline");
    assert_eq!(late.remote_code(), Some(ErrorCode::TIMEOUT), "{late}");

    let unknown = client
        .peer()
        .call::<_, ()>("no.such.method", &())
        .await
        .expect_err("not served");
    assert_eq!(unknown.remote_code(), Some(ErrorCode::UNKNOWN_METHOD));
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn streams_flow_every_way() {
    let server = start(&[]).await;
    let (client, _notes) = connect(&server).await;
    let streams = StreamsClient::new(client.peer());

    let counted = streams.count(100).await.expect("opens");
    let counted: Vec<u64> = within("count", counted.map(|n| n.expect("an item")).collect()).await;
    assert_eq!(counted, (0..100).collect::<Vec<_>>());

    // Dropped early: the client cancels, and the session carries on.
    let options = StreamOptions::default().window(4);
    let mut endless = streams.count_with(u64::MAX, options).await.expect("opens");
    for expected in 0..3 {
        let n = within("next", endless.next()).await.expect("an item");
        assert_eq!(n.expect("a number"), expected);
    }
    drop(endless);

    let total = within("sum", streams.sum(stream::iter(1..=100))).await;
    assert_eq!(total.expect("sum"), 5050);

    let lines = stream::iter(["one", "two"].map(String::from));
    let upper = streams.upper(lines).await.expect("opens");
    let answers: Vec<String> =
        within("upper", upper.map(|line| line.expect("a line")).collect()).await;
    assert_eq!(answers, ["ONE", "TWO"]);
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_server_calls_back_and_pushes_to_the_caller() {
    let server = start(&[]).await;
    let (client, mut notes) = connect(&server).await;
    let duplex = DuplexClient::new(client.peer());
    assert_eq!(duplex.callback(21).await.expect("callback"), Ok(42));

    duplex
        .notify("hello".to_owned())
        .await
        .expect("notify")
        .expect("pushed");
    let note = within("the note", notes.recv()).await;
    assert_eq!(note.as_deref(), Some("hello"));

    // A caller that serves no `double` learns why the callback failed.
    let bare = Client::connect(&url(&server)).await.expect("connects");
    let failed = DuplexClient::new(bare.peer())
        .callback(1)
        .await
        .expect("answered");
    let reason = failed.expect_err("nobody to call back");
    assert!(reason.contains("no method named `double`"), "{reason}");
    bare.close().await;
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn discover_lists_every_method_with_its_kind() {
    let server = start(&[]).await;
    let (client, _notes) = connect(&server).await;
    let routers = client.peer().discover().await.expect("discover");
    let mut methods: Vec<(String, MethodKind)> = routers
        .iter()
        .flat_map(|router| router.methods.iter())
        .map(|method| (method.name.to_string(), method.kind))
        .collect();
    methods.sort_by(|a, b| a.0.cmp(&b.0));
    let expected = [
        ("add", MethodKind::Call),
        ("bytes", MethodKind::Call),
        ("callback", MethodKind::Call),
        ("count", MethodKind::Stream),
        ("echo", MethodKind::Call),
        ("join", MethodKind::Call),
        ("math.div", MethodKind::Call),
        ("notify", MethodKind::Call),
        ("say", MethodKind::Call),
        ("shout", MethodKind::Cast),
        ("slow", MethodKind::Call),
        ("sum", MethodKind::Stream),
        ("upper", MethodKind::Stream),
        ("whoami", MethodKind::Call),
    ];
    let expected: Vec<(String, MethodKind)> = expected
        .iter()
        .map(|&(name, kind)| (name.to_owned(), kind))
        .collect();
    assert_eq!(methods, expected);
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_token_is_required_once_set() {
    let server = start(&["--token", "s3cret"]).await;
    let missing = Client::connect(&url(&server)).await.expect_err("no token");
    assert_eq!(missing.status(), Some(401), "{missing}");
    let wrong = Client::builder()
        .header("Authorization", "Bearer guess")
        .connect(&url(&server))
        .await
        .expect_err("a wrong token");
    assert_eq!(wrong.status(), Some(401), "{wrong}");

    let client = Client::builder()
        .header("Authorization", "Bearer s3cret")
        .connect(&url(&server))
        .await
        .expect("the right token");
    assert_eq!(
        CalculatorClient::new(client.peer())
            .add(1, 1)
            .await
            .expect("add"),
        2
    );
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn max_connections_refuses_the_one_too_many() {
    let server = start(&["--max-connections", "1"]).await;
    let first = Client::connect(&url(&server)).await.expect("the first");
    let second = Client::connect(&url(&server))
        .await
        .expect_err("over the limit");
    assert_eq!(second.status(), Some(503), "{second}");
    first.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn tls_flags_serve_wss_with_the_certificate_in_the_files() {
    let authority = Authority::new();
    let dir = TempDir::new("example-tls");
    let (cert, key) = dir.write_pem(authority.sign("localhost"));
    let server = start(&["--tls-cert", &cert, "--tls-key", &key]).await;
    let url = format!("wss://localhost:{}", server.local_addr().unwrap().port());
    let client = within("connect over tls", authority.client().connect(&url))
        .await
        .expect("the client connects over tls");
    assert_eq!(
        CalculatorClient::new(client.peer())
            .add(2, 3)
            .await
            .expect("add"),
        5
    );
    client.close().await;
    server.shutdown().await;
}

#[test]
fn bad_command_lines_are_refused_with_a_reason() {
    let parse = |args: &[&str]| Options::parse(args.iter().map(|&arg| arg.to_owned()));
    let options = parse(&[]).expect("defaults");
    assert_eq!(
        (
            options.addr.as_str(),
            options.token,
            options.max_connections
        ),
        ("127.0.0.1:9000", None, 10_000)
    );
    let cases = [
        (&["--token"][..], "--token needs a value"),
        (&["--max-connections", "many"], "takes a whole number"),
        (&["--verbose"], "unknown flag `--verbose`"),
        (&["127.0.0.1:1", "127.0.0.1:2"], "unexpected argument"),
        (
            &["--tls-cert", "cert.pem"],
            "--tls-cert and --tls-key go together",
        ),
        (
            &[
                "--tls-cert",
                "/nonexistent/cert.pem",
                "--tls-key",
                "key.pem",
            ],
            "could not read `/nonexistent/cert.pem`",
        ),
    ];
    for (args, complaint) in cases {
        let err = parse(args).expect_err("refused");
        assert!(err.contains(complaint), "{args:?}: {err}");
    }
}
