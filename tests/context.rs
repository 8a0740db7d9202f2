//! Handler context: a handler takes the request's headers, the session, the
//! caller's identity and claims, per-session state and extractors of its
//! own by declaring parameters; none of them travels as an argument, and
//! a missing one answers the call with a typed error.

mod common;

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use common::{server_config, url, within};
use rpc::{
    CallOptions, Claims, Client, Error, ErrorCode, Extension, FromRequest, HandlerError, Headers,
    Identity, Request, Server, Session, testing,
};
use tokio::sync::mpsc;

/// What the authentication hook attaches to alice's identity.
#[derive(Clone)]
struct Tenant(String);

/// Per-session state stored by the connect hook: calls made so far.
#[derive(Clone, Default)]
struct Calls(Arc<AtomicU64>);

/// Per-session state stored by an earlier call.
#[derive(Clone)]
struct Nickname(String);

/// An extractor of the application's own: the `lang` header, `en` without.
struct Lang(String);

impl FromRequest for Lang {
    fn from_request(request: &Request) -> Result<Self, HandlerError> {
        Ok(Lang(request.header("lang").unwrap_or("en").to_owned()))
    }
}

struct Desk {
    casts: mpsc::UnboundedSender<Vec<(String, String)>>,
}

#[rpc::router]
impl Desk {
    /// Every header the caller attached, in order.
    #[rpc::call]
    async fn headers(&self, headers: Headers) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    /// Reports the headers of a cast on the test's channel.
    #[rpc::cast]
    async fn note(&self, text: String, headers: Headers) {
        let mut seen: Vec<_> = headers
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        seen.push(("text".to_owned(), text));
        let _ = self.casts.send(seen);
    }

    #[rpc::call]
    async fn whoami(&self, who: Identity) -> String {
        who.subject().to_owned()
    }

    #[rpc::call]
    async fn maybe(&self, who: Option<Identity>) -> Option<String> {
        who.map(|who| who.subject().to_owned())
    }

    #[rpc::call]
    async fn tenant(&self, Claims(tenant): Claims<Tenant>) -> String {
        tenant.0
    }

    /// Counts this session's calls in the state the connect hook stored;
    /// `step` travels as the only argument, after the context.
    #[rpc::call]
    async fn bump(&self, Extension(calls): Extension<Calls>, step: u64) -> u64 {
        calls.0.fetch_add(step, Ordering::Relaxed) + step
    }

    #[rpc::call]
    async fn remember(&self, session: Session, nickname: String) {
        session.insert_extension(Nickname(nickname));
    }

    #[rpc::call]
    async fn recall(&self, nickname: Option<Extension<Nickname>>) -> Option<String> {
        nickname.map(|Extension(nickname)| nickname.0)
    }

    /// Needs state no hook stores: a mistake of the application's.
    #[rpc::call]
    async fn unstored(&self, Extension(nickname): Extension<Nickname>) -> String {
        nickname.0
    }

    #[rpc::call]
    async fn greet(&self, #[context] Lang(lang): Lang, name: String) -> String {
        format!("{lang}: hello {name}")
    }
}

fn desk() -> (Desk, mpsc::UnboundedReceiver<Vec<(String, String)>>) {
    let (casts, seen) = mpsc::unbounded_channel();
    (Desk { casts }, seen)
}

/// A server that knows alice (with a tenant), bob (without) and anonymous
/// callers, and stores a call counter in every session.
async fn guarded() -> (Server, mpsc::UnboundedReceiver<Vec<(String, String)>>) {
    let (desk, seen) = desk();
    let server = Server::builder()
        .config(server_config())
        .mount(desk)
        .authenticate(|request| match request.header("authorization") {
            Some("alice") => Ok(Some(Identity::new("alice").with(Tenant("acme".to_owned())))),
            Some("bob") => Ok(Some(Identity::new("bob"))),
            _ => Ok(None),
        })
        .on_connect(|session| {
            session.insert_extension(Calls::default());
        })
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    (server, seen)
}

async fn connect_as(server: &Server, token: Option<&str>) -> DeskClient {
    let mut builder = Client::builder();
    if let Some(token) = token {
        builder = builder.header("authorization", token);
    }
    let client = within("connect", builder.connect(&url(server)))
        .await
        .unwrap();
    DeskClient::new(client.peer())
}

fn refused(result: Result<impl std::fmt::Debug, Error>) -> (ErrorCode, String) {
    match result {
        Err(Error::Remote(remote)) => (remote.code(), remote.message().to_owned()),
        other => panic!("expected a remote error, got {other:?}"),
    }
}

#[tokio::test]
async fn headers_set_on_a_stub_reach_calls_and_casts() {
    let (server, mut seen) = guarded().await;
    let desk = connect_as(&server, None).await.with_options(
        CallOptions::default()
            .header("trace-id", "t-1")
            .header("trace-id", "t-2"),
    );
    let expected = vec![
        ("trace-id".to_owned(), "t-1".to_owned()),
        ("trace-id".to_owned(), "t-2".to_owned()),
    ];
    assert_eq!(within("call", desk.headers()).await.unwrap(), expected);

    within("cast", desk.note("hi".to_owned())).await.unwrap();
    let mut with_text = expected.clone();
    with_text.push(("text".to_owned(), "hi".to_owned()));
    assert_eq!(within("cast", seen.recv()).await.unwrap(), with_text);

    let plain = DeskClient::new(desk.caller());
    assert_eq!(within("call", plain.headers()).await.unwrap(), vec![]);
}

#[tokio::test]
async fn identity_and_claims_come_from_the_authentication_hook() {
    let (server, _seen) = guarded().await;
    let alice = connect_as(&server, Some("alice")).await;
    assert_eq!(within("whoami", alice.whoami()).await.unwrap(), "alice");
    assert_eq!(
        within("maybe", alice.maybe()).await.unwrap().as_deref(),
        Some("alice")
    );
    assert_eq!(within("tenant", alice.tenant()).await.unwrap(), "acme");

    let bob = connect_as(&server, Some("bob")).await;
    let (code, message) = refused(within("tenant", bob.tenant()).await);
    assert_eq!(code, ErrorCode::UNAUTHENTICATED);
    assert!(message.contains("Tenant"), "{message}");
}

#[tokio::test]
async fn an_anonymous_caller_is_refused_where_an_identity_is_required() {
    let (server, _seen) = guarded().await;
    let anonymous = connect_as(&server, None).await;
    let (code, _) = refused(within("whoami", anonymous.whoami()).await);
    assert_eq!(code, ErrorCode::UNAUTHENTICATED);
    let (code, _) = refused(within("tenant", anonymous.tenant()).await);
    assert_eq!(code, ErrorCode::UNAUTHENTICATED);
    assert_eq!(within("maybe", anonymous.maybe()).await.unwrap(), None);
    // The refusal ends that call only.
    assert_eq!(
        within("greet", anonymous.greet("ann".to_owned()))
            .await
            .unwrap(),
        "en: hello ann"
    );
}

#[tokio::test]
async fn state_stored_at_connect_time_is_per_session() {
    let (server, _seen) = guarded().await;
    let first = connect_as(&server, None).await;
    let second = connect_as(&server, None).await;
    assert_eq!(within("bump", first.bump(1)).await.unwrap(), 1);
    assert_eq!(within("bump", first.bump(2)).await.unwrap(), 3);
    assert_eq!(within("bump", second.bump(5)).await.unwrap(), 5);
}

#[tokio::test]
async fn state_stored_by_an_earlier_call_is_read_by_later_ones() {
    let (server, _seen) = guarded().await;
    let desk = connect_as(&server, None).await;
    assert_eq!(within("recall", desk.recall()).await.unwrap(), None);
    let (code, message) = refused(within("unstored", desk.unstored()).await);
    assert_eq!(code, ErrorCode::INTERNAL);
    assert!(message.contains("Nickname"), "{message}");

    within("remember", desk.remember("ace".to_owned()))
        .await
        .unwrap();
    assert_eq!(
        within("recall", desk.recall()).await.unwrap().as_deref(),
        Some("ace")
    );
    assert_eq!(within("unstored", desk.unstored()).await.unwrap(), "ace");
    // Another session has its own.
    let other = connect_as(&server, None).await;
    assert_eq!(within("recall", other.recall()).await.unwrap(), None);
}

#[tokio::test]
async fn an_extractor_of_the_application_reads_the_request() {
    let (server, _seen) = guarded().await;
    let desk = connect_as(&server, None)
        .await
        .with_options(CallOptions::default().header("lang", "fr"));
    assert_eq!(
        within("greet", desk.greet("ann".to_owned())).await.unwrap(),
        "fr: hello ann"
    );
}

#[tokio::test]
async fn context_parameters_are_not_described_as_arguments() {
    let (server, _seen) = guarded().await;
    let client = within("connect", Client::connect(&url(&server)))
        .await
        .unwrap();
    let routers = within("discover", client.peer().discover()).await.unwrap();
    let params = |name: &str| -> Vec<String> {
        let method = routers[0].methods.iter().find(|m| m.name == name).unwrap();
        method.params.iter().map(|p| p.name.to_string()).collect()
    };
    assert_eq!(params("bump"), ["step"]);
    assert_eq!(params("greet"), ["name"]);
    assert!(params("whoami").is_empty());
}

/// A router the client mounts, served to the server's calls.
struct Phone;

#[rpc::router]
impl Phone {
    #[rpc::call]
    async fn owner(&self, Extension(nickname): Extension<Nickname>) -> String {
        nickname.0
    }
}

#[tokio::test]
async fn a_client_stores_state_for_the_routers_it_serves() {
    let (desk, _seen) = desk();
    let pair = testing::pair(
        Server::builder().mount(desk),
        Client::builder().mount(Phone).on_connect(|session| {
            session.insert_extension(Nickname("carol".to_owned()));
        }),
    )
    .await
    .unwrap();
    let phone = PhoneClient::new(&pair.server.peer());
    assert_eq!(within("owner", phone.owner()).await.unwrap(), "carol");
}

/// A service trait declares context parameters as an impl block does.
#[rpc::service]
trait Greeting {
    #[rpc::call]
    async fn hello(&self, name: String, headers: Headers) -> String;
}

struct English;

impl Greeting for English {
    async fn hello(&self, name: String, headers: Headers) -> String {
        format!("{}hello {name}", headers.get("prefix").unwrap_or_default())
    }
}

#[tokio::test]
async fn a_service_trait_method_takes_context_too() {
    let pair = testing::pair(
        Server::builder().mount(GreetingRouter::new(English)),
        Client::builder(),
    )
    .await
    .unwrap();
    let greeting = GreetingClient::new(pair.client.peer())
        .with_options(CallOptions::default().header("prefix", "> "));
    assert_eq!(
        within("hello", greeting.hello("dan".to_owned()))
            .await
            .unwrap(),
        "> hello dan"
    );
}
