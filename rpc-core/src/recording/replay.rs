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

use futures_util::{SinkExt, StreamExt};
use tokio::{sync::Notify, time::Instant};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    RecordedSide,
    plan::{Joiner, Outbound, Plan, outbound},
    read::Recorded,
    report::{Answer, ReplayReport},
};
use crate::{
    error::{CloseReason, HandshakeError, ServeError},
    protocol::close_code,
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
            shutdown_grace: None,
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
    Ok(plan.report(recorded, state.answers, state.refusals))
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
            sync.until(crate::deadline::after(wait), |state| {
                pending.iter().all(|id| state.finished.contains(id))
            })
            .await;
            done = step.after;
        }
        if let Some(id) = step.answers_server {
            sync.until(crate::deadline::after(wait), |state| {
                state.asked.contains(&id)
            })
            .await;
        }
        // The lock is let go before the send waits.
        let ended = sync.lock().ended;
        if ended
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
    sync.until(crate::deadline::after(wait), |state| {
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
