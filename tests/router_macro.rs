//! `#[rpc::router]` end to end over real sockets on 127.0.0.1: typed stubs
//! for calls and casts, typed application errors, wire-name overrides,
//! server-side timeouts, session injection with the authenticated identity,
//! the server calling a router the client mounted, and reflection; then the
//! same handlers run directly, as unit tests, through `RouterHarness`.

use std::{collections::HashMap, time::Duration};

use rpc::{
    Client, ErrorCode, Identity, MethodKind, Refusal, Server, Session, UpgradeRequest, codec,
    testing::RouterHarness,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

/// How long a test waits for something that should happen at once.
const PATIENCE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rpc::Schema)]
enum DivError {
    ByZero,
    Overflow { a: i64, b: i64 },
}

impl std::fmt::Display for DivError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DivError::ByZero => f.write_str("division by zero"),
            DivError::Overflow { a, b } => write!(f, "{a} / {b} overflows"),
        }
    }
}

/// What the server's handlers report to the test.
#[derive(Debug)]
enum Event {
    Logged {
        subject: Option<String>,
        line: String,
    },
    /// A handler that never finishes started; the sender is dropped when the
    /// session stops it.
    Stuck(oneshot::Sender<()>),
}

/// Arithmetic and bookkeeping, served by the server.
struct Calculator {
    events: mpsc::UnboundedSender<Event>,
}

/// Arithmetic over the wire.
#[rpc::router]
impl Calculator {
    /// Adds two numbers.
    #[rpc::call]
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    /// Divides `a` by `b`.
    #[rpc::call(name = "math.div")]
    async fn div(&self, a: i64, b: i64) -> Result<i64, DivError> {
        match b {
            0 => Err(DivError::ByZero),
            _ => a.checked_div(b).ok_or(DivError::Overflow { a, b }),
        }
    }

    /// Records a line with the caller's identity.
    #[rpc::cast]
    async fn log(&self, session: &Session, line: String) {
        let subject = session.identity().map(|id| id.subject().to_owned());
        let _ = self.events.send(Event::Logged { subject, line });
    }

    /// Who the authentication hook said the caller is.
    #[rpc::call]
    async fn whoami(&self, session: &rpc::Session) -> Option<String> {
        session.identity().map(|id| id.subject().to_owned())
    }

    /// Never answers; the deadline stops it.
    #[rpc::call(timeout = "100ms")]
    async fn stall(&self) -> u8 {
        let (stopped, _watch) = oneshot::channel();
        let _ = self.events.send(Event::Stuck(stopped));
        std::future::pending::<u8>().await
    }

    /// Rings the caller back through its own router.
    #[rpc::call]
    async fn ring_back(&self, session: &Session, times: u32) -> Result<Vec<String>, String> {
        let phone = PhoneClient::new(&session.peer());
        let mut answers = Vec::new();
        for n in 0..times {
            let answer = phone.ring(format!("ring {n}")).await;
            answers.push(answer.map_err(|err| err.to_string())?);
        }
        Ok(answers)
    }
}

/// A router the client mounts, for the server to call.
struct Phone {
    owner: String,
}

/// The client's side of a callback.
#[rpc::router]
impl Phone {
    /// Answers a ring with the owner's name.
    #[rpc::call]
    async fn ring(&self, what: String) -> String {
        format!("{} picks up {what}", self.owner)
    }
}

/// Admits everyone; `authorization: <name>` names the caller.
#[allow(clippy::unnecessary_wraps)] // reason: the hook's signature is fixed
fn authenticate(request: &UpgradeRequest) -> Result<Option<Identity>, Refusal> {
    Ok(request.header("authorization").map(Identity::new))
}

struct Setup {
    server: Server,
    client: Client,
    events: mpsc::UnboundedReceiver<Event>,
}

async fn setup(name: Option<&str>) -> Setup {
    let (events_tx, events) = mpsc::unbounded_channel();
    let server = Server::builder()
        .mount(Calculator { events: events_tx })
        .authenticate(authenticate)
        .bind("127.0.0.1:0")
        .await
        .expect("server binds");
    let mut builder = Client::builder().mount(Phone {
        owner: "the client".to_owned(),
    });
    if let Some(name) = name {
        builder = builder.header("authorization", name);
    }
    let client = builder
        .connect(&format!("ws://{}", server.local_addr().unwrap()))
        .await
        .expect("client connects");
    Setup {
        server,
        client,
        events,
    }
}

impl Setup {
    async fn next_event(&mut self) -> Event {
        tokio::time::timeout(PATIENCE, self.events.recv())
            .await
            .expect("an event in time")
            .expect("the server is alive")
    }

    async fn finish(self) {
        self.client.close().await;
        self.server.shutdown().await;
    }
}

#[tokio::test]
async fn typed_stub_calls_and_casts() {
    let mut t = setup(Some("alice")).await;
    let calculator = CalculatorClient::new(t.client.peer());

    assert_eq!(calculator.add(2, 3).await.expect("add"), 5);
    calculator
        .log("hello".to_owned())
        .await
        .expect("cast queued");
    let Event::Logged { subject, line } = t.next_event().await else {
        panic!("expected a log line");
    };
    assert_eq!(subject.as_deref(), Some("alice"));
    assert_eq!(line, "hello");
    t.finish().await;
}

#[tokio::test]
async fn arguments_travel_as_one_tuple() {
    let t = setup(None).await;
    let sum: i64 = t
        .client
        .peer()
        .call("add", &(40_i64, 2_i64))
        .await
        .expect("add");
    assert_eq!(sum, 42);
    let err = t
        .client
        .peer()
        .call::<_, i64>("add", &("not", "numbers"))
        .await
        .expect_err("arguments of the wrong types");
    assert_eq!(err.remote_code(), Some(ErrorCode::BAD_ARGUMENTS));
    t.finish().await;
}

#[tokio::test]
async fn result_errors_come_back_typed() {
    let t = setup(None).await;
    let calculator = CalculatorClient::new(t.client.peer());

    assert_eq!(calculator.div(7, 2).await.expect("call"), Ok(3));
    assert_eq!(
        calculator.div(1, 0).await.expect("call"),
        Err(DivError::ByZero)
    );
    assert_eq!(
        calculator.div(i64::MIN, -1).await.expect("call"),
        Err(DivError::Overflow { a: i64::MIN, b: -1 })
    );

    // Without the stub: an application error with the `Display` text.
    let err = t
        .client
        .peer()
        .call::<_, i64>("math.div", &(1_i64, 0_i64))
        .await
        .expect_err("division by zero");
    let remote = err.remote().expect("an error answer");
    assert_eq!(remote.code(), ErrorCode::APPLICATION);
    assert_eq!(remote.message(), "division by zero");
    assert_eq!(
        remote.decode_data::<DivError>().ok(),
        Some(DivError::ByZero)
    );
    t.finish().await;
}

#[tokio::test]
async fn name_overrides_the_wire_name() {
    let t = setup(None).await;
    let err = t
        .client
        .peer()
        .call::<_, i64>("div", &(4_i64, 2_i64))
        .await
        .expect_err("only math.div exists");
    assert_eq!(err.remote_code(), Some(ErrorCode::UNKNOWN_METHOD));
    let quotient: i64 = t
        .client
        .peer()
        .call("math.div", &(4_i64, 2_i64))
        .await
        .expect("renamed");
    assert_eq!(quotient, 2);
    t.finish().await;
}

#[tokio::test]
async fn timeout_option_stops_the_handler() {
    let mut t = setup(None).await;
    let calculator = CalculatorClient::new(t.client.peer());

    let call = tokio::spawn(async move { calculator.stall().await });
    let Event::Stuck(mut stopped) = t.next_event().await else {
        panic!("expected the stuck handler");
    };
    let err = tokio::time::timeout(PATIENCE, call)
        .await
        .expect("answered in time")
        .expect("task")
        .expect_err("the handler never answers");
    assert!(err.is_timeout(), "{err}");
    // The deadline is the server's (100 ms), not the caller's (30 s).
    assert_eq!(err.remote_code(), Some(ErrorCode::TIMEOUT));
    // And the server dropped the handler.
    tokio::time::timeout(PATIENCE, stopped.closed())
        .await
        .expect("the handler was dropped");
    t.finish().await;
}

#[tokio::test]
async fn session_carries_the_authenticated_identity() {
    let alice = setup(Some("alice")).await;
    let whoami = CalculatorClient::new(alice.client.peer()).whoami().await;
    assert_eq!(whoami.expect("call").as_deref(), Some("alice"));
    alice.finish().await;

    let anonymous = setup(None).await;
    let whoami = CalculatorClient::new(anonymous.client.peer())
        .whoami()
        .await;
    assert_eq!(whoami.expect("call"), None);
    anonymous.finish().await;
}

#[tokio::test]
async fn server_calls_the_client_router_through_the_session() {
    let t = setup(None).await;
    let answers = CalculatorClient::new(t.client.peer())
        .ring_back(2)
        .await
        .expect("call")
        .expect("the client answered");
    assert_eq!(
        answers,
        ["the client picks up ring 0", "the client picks up ring 1"]
    );
    t.finish().await;
}

#[tokio::test]
async fn discover_describes_the_generated_router() {
    let t = setup(None).await;
    let routers = t.client.peer().discover().await.expect("discover");
    assert_eq!(routers.len(), 1);
    let calculator = &routers[0];
    assert_eq!(calculator.name, "Calculator");
    assert_eq!(calculator.docs, "Arithmetic over the wire.");

    let methods: HashMap<&str, _> = calculator
        .methods
        .iter()
        .map(|m| (m.name.as_ref(), m))
        .collect();
    let names: Vec<&str> = calculator.methods.iter().map(|m| m.name.as_ref()).collect();
    assert_eq!(
        names,
        ["add", "math.div", "log", "whoami", "stall", "ring_back"]
    );

    let div = methods["math.div"];
    assert_eq!(div.kind, MethodKind::Call);
    let params: Vec<(&str, &str)> = div
        .params
        .iter()
        .map(|p| (p.name.as_ref(), p.ty.as_ref()))
        .collect();
    assert_eq!(params, [("a", "i64"), ("b", "i64")]);
    assert_eq!(div.returns, "Result<i64, DivError>");
    assert_eq!(div.docs, "Divides `a` by `b`.");
    assert_eq!(div.timeout_ms, None);

    let log = methods["log"];
    assert_eq!(log.kind, MethodKind::Cast);
    // The session is injected, not sent: it is not a parameter.
    assert_eq!(log.params.len(), 1);
    assert_eq!(
        (log.params[0].name.as_ref(), log.params[0].ty.as_ref()),
        ("line", "String")
    );
    assert_eq!(log.returns, "()");
    assert_eq!(methods["stall"].timeout_ms, Some(100));
    assert_eq!(methods["whoami"].returns, "Option<String>");
    t.finish().await;
}

// ---- The same handlers without a connection ----

#[tokio::test]
async fn the_harness_runs_handlers_without_a_connection() {
    let (events, mut seen) = mpsc::unbounded_channel();
    let harness = RouterHarness::new(Calculator { events }).identity(Identity::new("bob"));
    assert_eq!(harness.call::<_, i64>("add", &(2_i64, 3_i64)).await, Ok(5));
    assert_eq!(
        harness.call::<_, Option<String>>("whoami", &()).await,
        Ok(Some("bob".to_owned()))
    );
    // A method returning `Result` answers its `Ok`; its `Err` is the
    // error's data, with the `Display` text as the message.
    assert_eq!(
        harness.call::<_, i64>("math.div", &(7_i64, 2_i64)).await,
        Ok(3)
    );
    let err = harness
        .call::<_, i64>("math.div", &(1_i64, 0_i64))
        .await
        .expect_err("division by zero");
    assert_eq!(
        (err.code(), err.message()),
        (ErrorCode::APPLICATION, "division by zero")
    );
    assert_eq!(
        codec::decode_value::<DivError>(err.data()).ok(),
        Some(DivError::ByZero)
    );
    // A cast has run once the harness returns.
    harness.cast("log", &("hi",)).await.expect("the cast runs");
    let Ok(Event::Logged { subject, line }) = seen.try_recv() else {
        panic!("expected the cast's log line");
    };
    assert_eq!((subject.as_deref(), line.as_str()), (Some("bob"), "hi"));
}

#[tokio::test(start_paused = true)]
async fn the_harness_keeps_the_methods_deadline_and_drops_the_handler() {
    let (events, mut seen) = mpsc::unbounded_channel();
    let harness = RouterHarness::new(Calculator { events });
    let err = harness
        .call::<_, u8>("stall", &())
        .await
        .expect_err("the handler never answers");
    assert_eq!(err.code(), ErrorCode::TIMEOUT);
    let Ok(Event::Stuck(mut stopped)) = seen.try_recv() else {
        panic!("expected the stuck handler");
    };
    stopped.closed().await;
}

#[test]
fn routers_lists_every_compiled_router() {
    let mut names: Vec<&str> = rpc::routers().map(|info| info.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Calculator", "Phone"]);
}
