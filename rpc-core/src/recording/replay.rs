//! Replaying a server's recording against a server's routers: a fake client
//! sends the recorded inbound messages over the in-memory transport, in the
//! recorded order, and the answers are compared with the recorded ones.
//!
//! The recorded order is kept as the client saw it: a message is sent only
//! once every answer the recording shows before it has come back, and an
//! answer to one of the server's own calls only once the server has made
//! that call again (with the same id: ids count from 1 on each side). So a
//! call that followed another's answer still follows it, and handlers that
//! ran one after the other do so again.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{Arc, Mutex, PoisonError},
};

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::{sync::Notify, time::Instant};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{Direction, RecordedSide, line, read::Recorded};
use crate::{
    codec,
    error::{CloseReason, HandshakeError, ServeError},
    protocol::{
        Accepted, Described, Features, Frame, Hello, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, Reply,
        Side, StreamRef, close_code,
    },
    push::Registry,
    server::ServerBuilder,
    session::{self, Role, Setup, handshake},
    transport::{BoxTransport, Outgoing, Received, memory},
};

/// Messages each direction of the in-memory connection holds.
const CAPACITY: usize = 64;

/// Why a recording could not be read or replayed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The recording could not be read.
    #[error("could not read the recording")]
    Io(#[source] std::io::Error),
    /// A line is not a recording line.
    #[error("line {line} of the recording is not a recording line")]
    Line {
        /// Its number, from 1.
        line: usize,
        /// What the JSON parser said.
        #[source]
        source: JsonError,
    },
    /// A line's `bytes` are not base64.
    #[error("the bytes of line {line} of the recording are not base64")]
    Base64 {
        /// Its number, from 1.
        line: usize,
    },
    /// The recording was made by a client: its inbound messages are a
    /// server's, which a server's routers cannot be fed.
    #[error("the recording is a client's; replay takes a server's recording")]
    NotServerSide,
    /// The server's routers or configuration were refused.
    #[error("the server side could not start")]
    Server(#[source] ServeError),
    /// The replayed handshake failed.
    #[error("the replayed handshake failed")]
    Handshake(#[source] HandshakeError),
}

/// An error of the JSON parser; opaque so that its crate's version is not
/// part of this API.
pub struct JsonError(pub(super) serde_json::Error);

impl fmt::Debug for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for JsonError {}

/// One message answering a request: a reply, an error, a stream's items and
/// end, a discover answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Answer {
    /// Its frame kind (`reply`, `error`, `item`, ...).
    pub kind: String,
    /// A few words on it, as in a recording line.
    pub summary: String,
    /// Its length in bytes.
    pub len: usize,
    /// The whole message: frame and payload (only its head when the
    /// recording cut it).
    pub bytes: Bytes,
    /// Whether the recording cut the message to its head.
    pub truncated: bool,
}

impl Answer {
    fn new(message: Bytes, truncated: bool, len: usize) -> Self {
        let described = line::describe(&message);
        Self {
            kind: described.kind.to_owned(),
            summary: described.summary,
            len,
            bytes: message,
            truncated,
        }
    }

    /// Same message; a recorded head is compared as far as it goes.
    fn same(&self, other: &Answer) -> bool {
        if self.truncated || other.truncated {
            let head = self.bytes.len().min(other.bytes.len());
            return self.len == other.len && self.bytes[..head] == other.bytes[..head];
        }
        self.bytes == other.bytes
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}) [", self.kind, self.summary)?;
        for (i, byte) in self.bytes.iter().take(32).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{byte:02x}")?;
        }
        if self.bytes.len() > 32 {
            f.write_str(" ..")?;
        }
        f.write_str("]")
    }
}

/// A request of the recording (a call, stream or discover), with what the
/// server answered then and now.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReplayedCall {
    /// The request's id, as recorded and replayed.
    pub id: u64,
    /// `call`, `open` or `discover`.
    pub kind: String,
    /// The method called (none for discover).
    pub method: Option<String>,
    /// The answers in the recording, in order.
    pub recorded: Vec<Answer>,
    /// The answers of the replay, in order.
    pub replayed: Vec<Answer>,
}

impl ReplayedCall {
    /// Whether the replay answered with the same messages.
    pub fn matches(&self) -> bool {
        self.recorded.len() == self.replayed.len()
            && self
                .recorded
                .iter()
                .zip(&self.replayed)
                .all(|(recorded, replayed)| recorded.same(replayed))
    }
}

impl fmt::Display for ReplayedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} `{}`: ",
            self.kind,
            self.id,
            self.method.as_deref().unwrap_or("")
        )?;
        list(f, "recorded", &self.recorded)?;
        f.write_str("; ")?;
        list(f, "replayed", &self.replayed)
    }
}

fn list(f: &mut fmt::Formatter<'_>, what: &str, answers: &[Answer]) -> fmt::Result {
    write!(f, "{what} ")?;
    if answers.is_empty() {
        return f.write_str("nothing");
    }
    for (i, answer) in answers.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{answer}")?;
    }
    Ok(())
}

/// What a replay found: each recorded request with its recorded and
/// replayed answers.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReplayReport {
    /// Every call, stream and discover of the recording, in the order they
    /// were sent.
    pub calls: Vec<ReplayedCall>,
    /// Casts and notifications sent (they have no answer to compare).
    pub casts: usize,
    /// Error frames of id 0 (refused or failed casts) in the recording.
    pub recorded_refusals: Vec<Answer>,
    /// Error frames of id 0 the replay got.
    pub refusals: Vec<Answer>,
    /// Inbound messages not sent again because the recording kept only
    /// their head.
    pub skipped: usize,
    /// Messages the recording left out (its queue was full): answers may
    /// differ for want of them.
    pub dropped: u64,
}

impl ReplayReport {
    /// Whether every request got the recorded answers, and casts the
    /// recorded refusals.
    pub fn all_match(&self) -> bool {
        self.mismatches().next().is_none()
            && self.recorded_refusals.len() == self.refusals.len()
            && self
                .recorded_refusals
                .iter()
                .zip(&self.refusals)
                .all(|(recorded, replayed)| recorded.same(replayed))
    }

    /// The requests whose answers differ.
    pub fn mismatches(&self) -> impl Iterator<Item = &ReplayedCall> {
        self.calls.iter().filter(|call| !call.matches())
    }
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let differ = self.mismatches().count();
        write!(
            f,
            "replayed {} requests and {} casts: {differ} answered differently",
            self.calls.len(),
            self.casts
        )?;
        for call in self.mismatches() {
            write!(f, "\n  {call}")?;
        }
        if self.recorded_refusals.len() != self.refusals.len() {
            write!(
                f,
                "\n  {} refusals of id 0 recorded, {} replayed",
                self.recorded_refusals.len(),
                self.refusals.len()
            )?;
        }
        if self.dropped > 0 {
            write!(f, "\n  the recording left out {} messages", self.dropped)?;
        }
        Ok(())
    }
}

/// Replays `recorded`, a server's recording, against `server`'s routers and
/// configuration: a fake client sends the recorded `Hello` and every
/// recorded inbound message over an in-memory connection, in order, and
/// the report compares each request's answers with the recorded ones. The
/// authentication hook is not run; each wait for an answer is bounded by
/// the server's `call_timeout`.
///
/// ```no_run
/// # extern crate rpc_core as rpc;
/// # async fn example(server: rpc::ServerBuilder) -> Result<(), rpc::testing::ReplayError> {
/// use rpc::testing::{Recorded, replay};
///
/// let recorded = Recorded::open("recordings/7.jsonl")?;
/// let report = replay(&recorded, server).await?;
/// assert!(report.all_match(), "{report}");
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`ReplayError::NotServerSide`] for a client's recording,
/// [`ReplayError::Server`] for refused routers or configuration,
/// [`ReplayError::Handshake`] when the server refuses the recorded `Hello`.
pub async fn replay(
    recorded: &Recorded,
    server: ServerBuilder,
) -> Result<ReplayReport, ReplayError> {
    if recorded.side == Some(RecordedSide::Client) {
        return Err(ReplayError::NotServerSide);
    }
    let plan = Plan::new(recorded);
    let server = server.into_parts().map_err(ReplayError::Server)?;
    let config = server.config.session.clone();
    let wait = config.call_timeout;
    let (server_end, peer_end) = memory::pair(CAPACITY, (config.max_message_size, usize::MAX));
    let session_id = recorded.session.unwrap_or(1);

    let serve = async move {
        let mut ws: BoxTransport = Box::new(server_end);
        let never = CancellationToken::new();
        let (peer_limits, features) =
            handshake::accept(&mut ws, session_id, &config, &never).await?;
        let routes = Arc::new(server.routes);
        let tracker = TaskTracker::new();
        let setup = Setup {
            id: session_id,
            role: Role::Server,
            remote_addr: None,
            identity: None,
            config,
            described: routes.describe(),
            routes,
            tracker: tracker.clone(),
            registry: Some(Registry::new(server.config.registry_events)),
            dead_letters: server.dead_letters,
            peer_limits,
            features,
            shutdown: never.clone(),
            hooks: server.hooks,
        };
        let operations = session::Operations::new(&server.config, never);
        let (_session, drive) = session::start_serving(ws, setup, operations);
        drive.await;
        Ok::<_, HandshakeError>(())
    };

    let sync = Heard::default();
    let client = async {
        let mut ws: BoxTransport = Box::new(peer_end);
        ws.send(Outgoing::Binary(plan.hello.clone()))
            .await
            .map_err(HandshakeError::Transport)?;
        loop {
            match ws.next().await {
                Some(Received::Binary(_welcome)) => break,
                Some(Received::Nothing) => {}
                Some(Received::End(reason)) => return Err(HandshakeError::Closed(reason)),
                None => return Err(HandshakeError::Closed(CloseReason::abnormal("ended"))),
            }
        }
        let (sink, stream) = ws.split();
        tokio::join!(send(sink, &plan, &sync, wait), receive(stream, &sync));
        Ok(())
    };
    let (accepted, replayed) = tokio::join!(serve, client);
    accepted.map_err(ReplayError::Handshake)?;
    replayed.map_err(ReplayError::Handshake)?;

    let state = sync
        .state
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    Ok(plan.report(recorded, state))
}

/// The recording, sorted for replay.
struct Plan {
    hello: Bytes,
    steps: Vec<Step>,
    /// Ids of the client's requests in the order the recording shows their
    /// last answer.
    answered: Vec<u64>,
    requests: Vec<(u64, &'static str, Option<String>)>,
    recorded: HashMap<u64, Vec<Answer>>,
    recorded_refusals: Vec<Answer>,
    casts: usize,
    skipped: usize,
}

/// One inbound message to send, and what must have happened first.
struct Step {
    bytes: Bytes,
    /// `answered[..after]` must have their replayed answers.
    after: usize,
    /// The server's own request this answers, which it must have made.
    answers_server: Option<u64>,
}

/// Pieces of fragmented messages being joined, per direction.
#[derive(Default)]
struct Joiner {
    partials: HashMap<u64, (BytesMut, bool)>,
}

impl Joiner {
    /// The whole message, once `message` completes one, and whether any
    /// piece of it was cut.
    fn push(&mut self, message: &Bytes, truncated: bool) -> Option<(Bytes, bool)> {
        let Ok(decoded) = codec::decode(message, usize::MAX) else {
            return Some((message.clone(), truncated));
        };
        let Frame::Fragment(fragment) = decoded.frame else {
            return Some((message.clone(), truncated));
        };
        let entry = self.partials.entry(fragment.message).or_default();
        entry.0.extend_from_slice(&decoded.payload);
        entry.1 |= truncated;
        if !fragment.last {
            return None;
        }
        let (whole, cut) = self.partials.remove(&fragment.message)?;
        Some((whole.freeze(), cut))
    }
}

/// What a server's message is to the client's requests.
enum Outbound {
    /// An answer to the client's request `id`; `last` for its final one.
    Answer {
        id: u64,
        last: bool,
    },
    /// An error of id 0: a refused or failed cast.
    Refusal,
    /// The server's own request, with its id.
    Request(u64),
    Other,
}

fn outbound(message: &Bytes) -> Outbound {
    let Ok(decoded) = codec::decode(message, usize::MAX) else {
        return Outbound::Other;
    };
    match decoded.frame {
        Frame::Error(error) if error.id == 0 => Outbound::Refusal,
        Frame::Reply(Reply { id }) | Frame::Described(Described { id }) => {
            Outbound::Answer { id, last: true }
        }
        Frame::Error(error) => Outbound::Answer {
            id: error.id,
            last: true,
        },
        Frame::End(end) if end.to == Side::Caller => Outbound::Answer {
            id: end.id,
            last: true,
        },
        Frame::Item(item) if item.to == Side::Caller => Outbound::Answer {
            id: item.id,
            last: false,
        },
        Frame::Accepted(accepted) => Outbound::Answer {
            id: accepted.id,
            last: false,
        },
        Frame::Call(call) => Outbound::Request(call.id),
        Frame::Open(open) => Outbound::Request(open.id),
        Frame::Discover(discover) => Outbound::Request(discover.id),
        _ => Outbound::Other,
    }
}

impl Plan {
    fn new(recorded: &Recorded) -> Self {
        let mut plan = Plan {
            hello: Bytes::new(),
            steps: Vec::new(),
            answered: Vec::new(),
            requests: Vec::new(),
            recorded: HashMap::new(),
            recorded_refusals: Vec::new(),
            casts: 0,
            skipped: 0,
        };
        let (mut inbound, mut outbound_pieces) = (Joiner::default(), Joiner::default());
        for recorded_frame in recorded {
            let frame = recorded_frame;
            if frame.kind == "close" {
                continue;
            }
            match frame.dir {
                Direction::In if frame.truncated => plan.skipped += 1,
                Direction::In => {
                    let whole = inbound.push(&frame.bytes, false);
                    plan.inbound(frame.bytes.clone(), whole.as_ref().map(|(whole, _)| whole));
                }
                Direction::Out => {
                    if let Some((whole, cut)) = outbound_pieces.push(&frame.bytes, frame.truncated)
                    {
                        let len = if cut || frame.truncated {
                            frame.len
                        } else {
                            whole.len()
                        };
                        plan.outbound(whole, cut || frame.truncated, len);
                    }
                }
            }
        }
        if plan.hello.is_empty() {
            // No recorded hello (a file cut short at its head): this build's.
            plan.hello = codec::encode(&Frame::Hello(Hello {
                min_version: MIN_PROTOCOL_VERSION,
                max_version: PROTOCOL_VERSION,
                features: Features::all().names(),
                limits: handshake::limits(&crate::config::SessionConfig::default()),
            }))
            .unwrap_or_default();
        }
        plan
    }

    /// A recorded inbound message (`piece`), and the message it completes.
    fn inbound(&mut self, piece: Bytes, whole: Option<&Bytes>) {
        let mut answers_server = None;
        if let Some(whole) = whole
            && let Ok(decoded) = codec::decode(whole, usize::MAX)
        {
            match decoded.frame {
                Frame::Hello(_) if self.hello.is_empty() => {
                    self.hello = piece;
                    return;
                }
                Frame::Call(call) => {
                    self.requests
                        .push((call.id, "call", Some(call.method.to_owned())));
                }
                Frame::Open(open) => {
                    self.requests
                        .push((open.id, "open", Some(open.method.to_owned())));
                }
                Frame::Discover(discover) => self.requests.push((discover.id, "discover", None)),
                Frame::Cast(_) | Frame::Notify(_) => self.casts += 1,
                Frame::Reply(Reply { id })
                | Frame::Described(Described { id })
                | Frame::Accepted(Accepted { id }) => answers_server = Some(id),
                Frame::Error(error) if error.id != 0 => answers_server = Some(error.id),
                Frame::Item(StreamRef { id, to }) | Frame::End(StreamRef { id, to })
                    if to == Side::Caller =>
                {
                    answers_server = Some(id);
                }
                Frame::Credit(credit) if credit.to == Side::Caller => {
                    answers_server = Some(credit.id);
                }
                _ => {}
            }
        }
        self.steps.push(Step {
            bytes: piece,
            after: self.answered.len(),
            answers_server,
        });
    }

    /// A recorded outbound message, whole.
    fn outbound(&mut self, whole: Bytes, truncated: bool, len: usize) {
        match outbound(&whole) {
            Outbound::Answer { id, last } => {
                self.recorded
                    .entry(id)
                    .or_default()
                    .push(Answer::new(whole, truncated, len));
                if last {
                    self.answered.push(id);
                }
            }
            Outbound::Refusal => self
                .recorded_refusals
                .push(Answer::new(whole, truncated, len)),
            Outbound::Request(_) | Outbound::Other => {}
        }
    }

    fn report(mut self, recorded: &Recorded, mut state: State) -> ReplayReport {
        let calls = self
            .requests
            .into_iter()
            .map(|(id, kind, method)| ReplayedCall {
                id,
                kind: kind.to_owned(),
                method,
                recorded: self.recorded.remove(&id).unwrap_or_default(),
                replayed: state.answers.remove(&id).unwrap_or_default(),
            })
            .collect();
        ReplayReport {
            calls,
            casts: self.casts,
            recorded_refusals: self.recorded_refusals,
            refusals: state.refusals,
            skipped: self.skipped,
            dropped: recorded.dropped,
        }
    }
}

/// What the fake client has heard from the server.
#[derive(Default)]
struct State {
    answers: HashMap<u64, Vec<Answer>>,
    /// Requests of the client with their last answer.
    finished: HashSet<u64>,
    /// The server's own requests.
    asked: HashSet<u64>,
    refusals: Vec<Answer>,
    /// The server closed the session.
    ended: bool,
}

/// The state, and a bell rung at each change.
#[derive(Default)]
struct Heard {
    state: Mutex<State>,
    changed: Notify,
}

impl Heard {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until `ready` holds, the server closed, or `deadline`; whether
    /// `ready` holds.
    async fn until(&self, deadline: Instant, ready: impl Fn(&State) -> bool) -> bool {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let state = self.lock();
                if ready(&state) {
                    return true;
                }
                if state.ended {
                    return false;
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return false;
            }
        }
    }
}

/// Sends the plan's steps in order, each once what it follows happened,
/// then closes once the recorded answers and refusals are in.
async fn send(
    mut sink: futures_util::stream::SplitSink<BoxTransport, Outgoing>,
    plan: &Plan,
    sync: &Heard,
    wait: std::time::Duration,
) {
    let mut done = 0;
    for step in &plan.steps {
        let pending = &plan.answered[done..step.after];
        if !pending.is_empty() {
            sync.until(Instant::now() + wait, |state| {
                pending.iter().all(|id| state.finished.contains(id))
            })
            .await;
            done = step.after;
        }
        if let Some(id) = step.answers_server {
            sync.until(Instant::now() + wait, |state| state.asked.contains(&id))
                .await;
        }
        if sync.lock().ended
            || sink
                .send(Outgoing::Binary(step.bytes.clone()))
                .await
                .is_err()
        {
            return;
        }
    }
    let rest = &plan.answered[done..];
    let refusals = plan.recorded_refusals.len();
    sync.until(Instant::now() + wait, |state| {
        rest.iter().all(|id| state.finished.contains(id)) && state.refusals.len() >= refusals
    })
    .await;
    let _ = sink
        .send(Outgoing::Close(CloseReason::local(
            close_code::NORMAL,
            "replay finished",
        )))
        .await;
}

/// Reads the server's messages into the state until it closes.
async fn receive(mut stream: futures_util::stream::SplitStream<BoxTransport>, sync: &Heard) {
    let mut pieces = Joiner::default();
    while let Some(received) = stream.next().await {
        let message = match received {
            Received::Binary(message) => message,
            Received::Nothing => continue,
            Received::End(_) => break,
        };
        let Some((whole, _)) = pieces.push(&message, false) else {
            continue;
        };
        {
            let mut state = sync.lock();
            let len = whole.len();
            match outbound(&whole) {
                Outbound::Answer { id, last } => {
                    state
                        .answers
                        .entry(id)
                        .or_default()
                        .push(Answer::new(whole, false, len));
                    if last {
                        state.finished.insert(id);
                    }
                }
                Outbound::Refusal => state.refusals.push(Answer::new(whole, false, len)),
                Outbound::Request(id) => {
                    state.asked.insert(id);
                }
                Outbound::Other => continue,
            }
        }
        sync.changed.notify_waiters();
    }
    sync.lock().ended = true;
    sync.changed.notify_waiters();
}
