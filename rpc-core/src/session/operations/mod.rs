//! At-most-once execution of calls that a reconnecting client retries.
//!
//! A call carrying [`OPERATION_ID_HEADER`] names an operation; the server's
//! [`Operations`], shared by all its sessions (a retry comes on a new
//! connection), decides what admission does with it:
//!
//! - unknown: the handler runs, on a task of its own rather than on the
//!   session's pool, and the call waits for it like any later retry;
//! - running: the call waits for that run's answer (at most
//!   [`MAX_WAITERS`] calls wait on one run; more are refused `busy`);
//! - ended: the call is answered with the kept answer, or with
//!   [`ErrorCode::ANSWER_GONE`] when the answer was not kept.
//!
//! **A run outlives its caller's session.** Closing a session drops the
//! calls that wait, not the run: the handler may have had side effects
//! already, so running it again for the retry would break at-most-once,
//! and stopping it half-way helps no one. A run with no call waiting is
//! stopped, and its entry forgotten, once it has had no caller for the
//! table's time bound (the retry window), or when its deadline passes, or
//! the server's shutdown grace after shutdown begins. A `Cancel` frame
//! likewise ends only the waiting of its call.

mod table;

use std::{
    sync::{
        Arc, Mutex, MutexGuard, OnceLock, PoisonError,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures_util::FutureExt;
use tokio::{sync::Notify, time::Instant};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::Instrument;

use self::table::{Answer, Found, Key, Limits, Method, Table};
use crate::{
    codec,
    config::ServerConfig,
    identity::Identity,
    log_limit::LogLimit,
    protocol::{ErrorCode, Frame, OPERATION_ID_HEADER, Reply as ReplyHeader},
    router::{HandlerError, HandlerFuture, Reply},
};

/// Calls that wait on one running operation at most: a peer cannot grow a
/// list of waiters without bound by retrying the same id.
pub(crate) const MAX_WAITERS: usize = 16;

/// The table of recent operations of one server. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Operations {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    table: Mutex<Table<Run>>,
    /// How long a run with no caller waiting goes on.
    ttl: Duration,
    /// Cancelled when the server begins a graceful shutdown...
    shutdown: CancellationToken,
    /// ...after which runs have this long to end, like handlers.
    grace: Duration,
    /// Lines for panicking handlers, which run on tasks of their own,
    /// apart from any session.
    log_limit: LogLimit,
}

/// What the calls of one running operation wait on.
#[derive(Debug, Default)]
struct Run {
    answer: OnceLock<Answer>,
    ended: Notify,
    /// Calls waiting now.
    waiters: AtomicUsize,
    /// Calls that ever waited: a run left alone is stopped only if none
    /// came and went in the meantime.
    attached: AtomicU64,
    /// Woken when the last waiting call leaves.
    deserted: Notify,
}

/// What admission does with a call that names an operation.
#[derive(Debug)]
pub(super) struct Claim(Plan);

#[derive(Debug)]
enum Plan {
    /// A new operation: run the handler, and wait for it.
    Run {
        operations: Operations,
        key: Key,
        waiter: Waiter,
    },
    /// A running one: wait for its answer.
    Wait(Waiter),
    /// An ended one: its kept answer, or `None` when it is gone.
    Replay(Option<Answer>),
}

/// Why admission refuses a call that names an operation.
#[derive(Debug)]
pub(super) struct Refused {
    pub(super) code: ErrorCode,
    pub(super) message: String,
}

/// The operation id a call names, if it carries the header: one scan of
/// its headers.
///
/// # Errors
///
/// A refusal with [`ErrorCode::BAD_ARGUMENTS`] when the value is not 32
/// lowercase hex digits.
pub(super) fn requested(headers: &[(&str, &str)]) -> Option<Result<u128, Refused>> {
    let (_, value) = headers
        .iter()
        .find(|(name, _)| *name == OPERATION_ID_HEADER)?;
    Some(parse(value).ok_or_else(|| Refused {
        code: ErrorCode::BAD_ARGUMENTS,
        message: format!("the `{OPERATION_ID_HEADER}` header must be 32 lowercase hex digits"),
    }))
}

fn parse(value: &str) -> Option<u128> {
    let digits = value.len() == 32
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    digits
        .then(|| u128::from_str_radix(value, 16).ok())
        .flatten()
}

impl Operations {
    /// An empty table with `config`'s bounds, whose runs stop
    /// [`shutdown_grace`](ServerConfig::shutdown_grace) after `shutdown`.
    pub(crate) fn new(config: &ServerConfig, shutdown: CancellationToken) -> Self {
        Self {
            inner: Arc::new(Inner {
                table: Mutex::new(Table::new(Limits {
                    entries: config.max_operations,
                    bytes: config.max_operation_bytes,
                    ttl: config.operation_ttl,
                })),
                ttl: config.operation_ttl,
                shutdown,
                grace: config.shutdown_grace,
                log_limit: LogLimit::new(),
            }),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table<Run>> {
        // Each operation on the table leaves it consistent before it can
        // panic (only an allocation can).
        self.inner
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Looks operation `id` of `identity` up as a call of `method`.
    ///
    /// # Errors
    ///
    /// `busy` when every entry is a running operation or the operation has
    /// [`MAX_WAITERS`] calls waiting; `bad arguments` when the id names a
    /// call of another method.
    pub(super) fn claim(
        &self,
        identity: Option<&Identity>,
        id: u128,
        method: Method,
    ) -> Result<Claim, Refused> {
        let key: Key = (identity.map(|who| Arc::from(who.subject())), id);
        let refused = |code, message| Err(Refused { code, message });
        // Waiters attach under the table's lock: a run forgets itself only
        // if, under that lock, none waits.
        let mut table = self.table();
        match table.find(key.clone(), method, Instant::now(), Run::default) {
            Found::New(run) => Ok(Claim(Plan::Run {
                operations: self.clone(),
                key,
                waiter: Waiter::attach(run).expect("a new run has no waiter"),
            })),
            Found::Running(run) => match Waiter::attach(run) {
                Some(waiter) => {
                    tracing::debug!(operation = %Hex(id), "retry waits for the running operation");
                    Ok(Claim(Plan::Wait(waiter)))
                }
                None => refused(
                    ErrorCode::BUSY,
                    format!("{MAX_WAITERS} calls already wait for operation {}", Hex(id)),
                ),
            },
            Found::Ended(answer) => {
                tracing::debug!(operation = %Hex(id), kept = answer.is_some(), "retry of an ended operation");
                Ok(Claim(Plan::Replay(answer)))
            }
            Found::OtherMethod => refused(
                ErrorCode::BAD_ARGUMENTS,
                format!("operation {} was called as another method", Hex(id)),
            ),
            Found::Full => refused(
                ErrorCode::BUSY,
                "the server runs as many operations as it keeps; retry later".to_owned(),
            ),
        }
    }
}

impl Claim {
    /// The future the call's job polls instead of its handler: for a new
    /// operation, `dispatch()` (the handler) starts on a task of `tracker`,
    /// under `deadline` and `span`.
    pub(super) fn into_handler(
        self,
        call: u64,
        dispatch: impl FnOnce() -> HandlerFuture,
        deadline: Option<Duration>,
        tracker: &TaskTracker,
        span: tracing::Span,
    ) -> HandlerFuture {
        match self.0 {
            Plan::Run {
                operations,
                key,
                waiter,
            } => {
                let run = Arc::clone(&waiter.run);
                let handler = dispatch();
                tracker.spawn(operations.run(key, run, handler, deadline).instrument(span));
                Box::pin(async move { outcome(call, waiter.answer().await) })
            }
            Plan::Wait(waiter) => Box::pin(async move { outcome(call, waiter.answer().await) }),
            Plan::Replay(Some(answer)) => Box::pin(std::future::ready(outcome(call, answer))),
            Plan::Replay(None) => Box::pin(std::future::ready(Err(HandlerError::new(
                ErrorCode::ANSWER_GONE,
                "the operation already ran; its answer is no longer kept",
            )))),
        }
    }
}

impl Operations {
    /// Runs an operation's handler to its end, and keeps its answer; or
    /// stops it when it has been left alone too long or the server is
    /// going away.
    async fn run(
        self,
        key: Key,
        run: Arc<Run>,
        handler: HandlerFuture,
        deadline: Option<Duration>,
    ) {
        let outcome = tokio::select! {
            // An answer that is there wins over a stop decided at the same
            // time.
            biased;
            outcome = finish(handler, deadline, &self.inner.log_limit) => outcome,
            () = self.deserted(&key, &run) => {
                tracing::debug!("operation stopped: no call waited for it within the retry window");
                return;
            }
            () = self.shut_down() => Err(HandlerError::new(
                ErrorCode::SHUTTING_DOWN,
                "the server shut down before the operation ended",
            )),
        };
        let answer = Answer::from(outcome);
        // Waiting calls take the answer even if the table does not keep it.
        run.answer.get_or_init(|| answer.clone());
        run.ended.notify_waiters();
        self.table().end(&key, &run, answer, Instant::now());
    }

    /// Resolves once `run` has had no waiting call for the time bound, having
    /// forgotten its entry: a retry after that runs the operation anew.
    async fn deserted(&self, key: &Key, run: &Arc<Run>) {
        loop {
            loop {
                let left = run.deserted.notified();
                tokio::pin!(left);
                // Registered before the check, so a leave in between counts.
                left.as_mut().enable();
                if run.waiters.load(Ordering::SeqCst) == 0 {
                    break;
                }
                left.await;
            }
            let attached = run.attached.load(Ordering::SeqCst);
            tokio::time::sleep(self.inner.ttl).await;
            let alone = |run: &Run| {
                run.waiters.load(Ordering::SeqCst) == 0
                    && run.attached.load(Ordering::SeqCst) == attached
            };
            if self.table().forget_running(key, run, alone) {
                return;
            }
        }
    }

    async fn shut_down(&self) {
        self.inner.shutdown.cancelled().await;
        tokio::time::sleep(self.inner.grace).await;
    }
}

/// The handler's outcome, under its deadline, with a panic turned into an
/// `internal` error as on the session's pool.
async fn finish(
    handler: HandlerFuture,
    deadline: Option<Duration>,
    log_limit: &LogLimit,
) -> Result<Reply, HandlerError> {
    let guarded = std::panic::AssertUnwindSafe(handler).catch_unwind();
    let outcome = match deadline {
        Some(limit) => match tokio::time::timeout(limit, guarded).await {
            Ok(outcome) => outcome,
            Err(_) => {
                return Err(HandlerError::new(
                    ErrorCode::TIMEOUT,
                    format!("handler exceeded its deadline of {limit:?}"),
                ));
            }
        },
        None => guarded.await,
    };
    outcome.unwrap_or_else(|panic| Err(super::job::panicked(&*panic, log_limit)))
}

/// One call waiting on a run; counted in [`Run::waiters`] while it lives.
#[derive(Debug)]
pub(super) struct Waiter {
    run: Arc<Run>,
}

impl Waiter {
    /// A waiter on `run`, unless [`MAX_WAITERS`] wait already.
    fn attach(run: Arc<Run>) -> Option<Self> {
        run.waiters
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < MAX_WAITERS).then_some(n + 1)
            })
            .ok()?;
        run.attached.fetch_add(1, Ordering::SeqCst);
        Some(Self { run })
    }

    async fn answer(self) -> Answer {
        loop {
            let ended = self.run.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if let Some(answer) = self.run.answer.get() {
                return answer.clone();
            }
            ended.await;
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if self.run.waiters.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.run.deserted.notify_waiters();
        }
    }
}

impl From<Result<Reply, HandlerError>> for Answer {
    fn from(outcome: Result<Reply, HandlerError>) -> Self {
        match outcome {
            // The value, after the reply header that names the first call.
            Ok(Reply(Some(frame))) => match codec::decode(&frame, usize::MAX) {
                Ok(decoded) => Self::Value(decoded.payload),
                Err(_) => Self::Nothing,
            },
            Ok(Reply(None)) => Self::Nothing,
            Err(err) => {
                let (code, message, data) = err.into_parts();
                Self::Error {
                    code,
                    message: message.into(),
                    data,
                }
            }
        }
    }
}

/// `answer` as the outcome of call `call`.
fn outcome(call: u64, answer: Answer) -> Result<Reply, HandlerError> {
    match answer {
        Answer::Value(value) => codec::encode_raw(&Frame::Reply(ReplyHeader { id: call }), &value)
            .map(|frame| Reply(Some(frame)))
            .map_err(|err| {
                HandlerError::new(ErrorCode::INTERNAL, format!("reply does not encode: {err}"))
            }),
        Answer::Error {
            code,
            message,
            data,
        } => Err(HandlerError::from_parts(code, message.to_string(), data)),
        Answer::Nothing => Ok(Reply(None)),
    }
}

/// An operation id as it appears in the header.
struct Hex(u128);

impl std::fmt::Display for Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_32_lowercase_hex_digits_name_an_operation() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(parse(id), Some(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef));
        assert_eq!(parse(&"f".repeat(32)), Some(u128::MAX));
        for bad in [
            "",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "+123456789abcdef0123456789abcdef",
            "0123456789abcdeg0123456789abcdef",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert!(requested(&[("other", "x")]).is_none());
        assert!(matches!(
            requested(&[(OPERATION_ID_HEADER, id)]),
            Some(Ok(_))
        ));
        assert!(matches!(
            requested(&[(OPERATION_ID_HEADER, "nope")]),
            Some(Err(Refused {
                code: ErrorCode::BAD_ARGUMENTS,
                ..
            }))
        ));
    }

    #[test]
    fn waiters_are_capped_and_counted_until_dropped() {
        let run = Arc::new(Run::default());
        let waiters: Vec<_> = (0..MAX_WAITERS)
            .map(|_| Waiter::attach(Arc::clone(&run)).expect("under the cap"))
            .collect();
        assert!(Waiter::attach(Arc::clone(&run)).is_none());
        drop(waiters);
        assert_eq!(run.waiters.load(Ordering::SeqCst), 0);
        assert_eq!(run.attached.load(Ordering::SeqCst), MAX_WAITERS as u64);
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_left_alone_for_the_time_bound_is_forgotten_and_its_handler_dropped() {
        let operations = Operations::new(&ServerConfig::default(), CancellationToken::new());
        let Claim(Plan::Run { key, waiter, .. }) = operations.claim(None, 1, (0, 0)).expect("new")
        else {
            panic!("a new operation runs");
        };
        let run = Arc::clone(&waiter.run);
        let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
        let handler: HandlerFuture = Box::pin(async move {
            let _dropped = dropped_tx;
            std::future::pending().await
        });
        let task = tokio::spawn(operations.clone().run(key, run, handler, None));
        // A retry attaches and leaves; the bound counts from the last leave.
        drop(waiter);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let Claim(Plan::Wait(retry)) = operations.claim(None, 1, (0, 0)).expect("running") else {
            panic!("the run goes on while it is not yet alone for the bound");
        };
        drop(retry);
        assert!(dropped_rx.await.is_err(), "the handler is dropped");
        task.await.expect("the run ends");
        assert!(matches!(
            operations.claim(None, 1, (0, 0)),
            Ok(Claim(Plan::Run { .. }))
        ));
    }

    #[tokio::test]
    async fn waiters_take_the_answer_even_when_it_is_too_large_to_keep() {
        let config = ServerConfig::default().max_operation_bytes(2);
        let operations = Operations::new(&config, CancellationToken::new());
        let Claim(Plan::Run { key, waiter, .. }) = operations.claim(None, 1, (0, 0)).expect("new")
        else {
            panic!("a new operation runs");
        };
        let Claim(Plan::Wait(retry)) = operations.claim(None, 1, (0, 0)).expect("running") else {
            panic!("a retry waits");
        };
        let run = Arc::clone(&waiter.run);
        let handler: HandlerFuture = Box::pin(async {
            Err(HandlerError::from_parts(
                ErrorCode::APPLICATION,
                "too long to keep".to_owned(),
                bytes::Bytes::new(),
            ))
        });
        operations.clone().run(key, run, handler, None).await;
        for waiter in [waiter, retry] {
            assert!(matches!(
                waiter.answer().await,
                Answer::Error {
                    code: ErrorCode::APPLICATION,
                    ..
                }
            ));
        }
        let Claim(Plan::Replay(None)) = operations.claim(None, 1, (0, 0)).expect("ended") else {
            panic!("the answer was not kept");
        };
    }
}
