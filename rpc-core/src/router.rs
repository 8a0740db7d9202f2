//! The [`Router`] trait that `#[rpc::router]` implements (and that can be
//! written by hand), the [`Request`] a handler receives, and the table of
//! mounted routers a session dispatches through.

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use bytes::Bytes;
use rustc_hash::FxHashMap;
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    codec,
    error::MountError,
    metadata::{DiscoverAnswer, MethodKind, RouterInfo},
    metrics::record::{Served, UNKNOWN_METHOD},
    middleware::Layers,
    protocol::{ErrorCode, Frame, RESERVED_PREFIX, Reply as ReplyHeader},
    schema::{self, RouterSchema},
    session::Session,
};

/// The future a handler returns.
pub type HandlerFuture =
    Pin<Box<dyn Future<Output = Result<Reply, HandlerError>> + Send + 'static>>;

/// A set of methods a peer can call, with metadata describing them.
///
/// `#[rpc::router]` implements this; implementing it by hand takes two
/// functions. `info` lists the methods; `dispatch` runs method number
/// `method` (its index in `info().methods`), decoding the arguments from the
/// request and encoding the answer with [`Request::reply`].
///
/// ```
/// # extern crate rpc_core as rpc;
/// use std::sync::Arc;
/// use rpc::{HandlerFuture, MethodInfo, MethodKind, ParamInfo, Request, Router, RouterInfo};
///
/// struct Echo;
///
/// // Metadata lives in statics (one per array: `Cow` data cannot be
/// // promoted from a temporary).
/// static ECHO_PARAMS: [ParamInfo; 1] = [ParamInfo::new("text", "String")];
/// static METHODS: [MethodInfo; 1] =
///     [MethodInfo::new("echo", MethodKind::Call, &ECHO_PARAMS, "String", "Returns its argument.", None)];
/// static ECHO: RouterInfo = RouterInfo::new("Echo", "Says it back.", &METHODS);
///
/// impl Router for Echo {
///     fn info(&self) -> &'static RouterInfo {
///         &ECHO
///     }
///
///     fn dispatch(self: Arc<Self>, _method: usize, request: Request) -> HandlerFuture {
///         Box::pin(async move {
///             let (text,): (String,) = request.args()?;
///             request.reply(&text)
///         })
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an rpc router",
    note = "add #[rpc::router] to an `impl {Self}` block whose methods carry #[rpc::call], #[rpc::cast] or #[rpc::stream]",
    note = "if `{Self}` implements a trait marked #[rpc::service], mount the router generated for the trait: `<Trait>Router::new(value)`"
)]
pub trait Router: Send + Sync + 'static {
    /// Metadata of the router and its methods.
    fn info(&self) -> &'static RouterInfo;

    /// Runs method number `method` for `request`.
    ///
    /// Polled on the session's handler pool, a task shared by the
    /// session's handlers (first on the reader, for a method that
    /// [`runs_inline`](Self::runs_inline)); the session applies
    /// deadlines and cancellation around the returned future. Work that
    /// computes for long without awaiting belongs in
    /// `tokio::task::spawn_blocking`. On a server, a call naming an
    /// operation ([`OPERATION_ID_HEADER`](crate::protocol::OPERATION_ID_HEADER))
    /// runs on a task of its own instead, and goes on if its caller's
    /// session closes, so that a retry on another connection gets its
    /// answer rather than a second run.
    fn dispatch(self: Arc<Self>, method: usize, request: Request) -> HandlerFuture;

    /// Whether method number `method` (a call or a cast) starts on the
    /// session's reader: its handler is polled once right where the request
    /// is read, and only a handler still pending after that poll moves to
    /// the handler pool. An answer ready at once then costs no hand-off, and
    /// the answers to a burst of calls leave in one write.
    ///
    /// Only for handlers whose first poll is short (up to their first
    /// `.await` that waits): while it runs the connection reads nothing
    /// else, not even a ping. `#[rpc::call(inline)]` and
    /// `#[rpc::cast(inline)]` set it; the default is `false` for every
    /// method. Streams and calls naming an operation always start on the
    /// pool.
    fn runs_inline(&self, method: usize) -> bool {
        let _ = method;
        false
    }

    /// Runs method number `method` to its answer at once, without a
    /// future, if it is synchronous: `#[rpc::router]` implements this for
    /// the methods written as a plain `fn` and marked `inline`. `Err` gives
    /// the request back, for [`dispatch`](Self::dispatch); the provided
    /// method gives back every one.
    ///
    /// Asked only for the methods [`runs_inline`](Self::runs_inline) names,
    /// on the session's reader, and only when no middleware is installed
    /// (middleware wraps handler futures).
    ///
    /// # Errors
    ///
    /// The request, when the method is not synchronous.
    fn dispatch_now(
        &self,
        method: usize,
        request: Request,
    ) -> Result<Result<Reply, HandlerError>, Request> {
        let _ = method;
        Err(request)
    }

    /// Type schemas of the methods, one per entry of `info().methods` in
    /// that order, which discover answers carry to peers that agreed the
    /// `schemas` feature. `#[rpc::router]` derives them from the methods'
    /// types; the default, `None`, describes no types, and calls to the
    /// router are then never checked for an incompatible schema.
    fn schema(&self) -> Option<&'static RouterSchema> {
        None
    }
}

/// One incoming call, cast or notification, as a handler sees it.
pub struct Request {
    session: Session,
    id: Option<u64>,
    /// Which admission of the session this is (call ids may be reused).
    serial: u64,
    /// Opened with an `Open` frame (a stream) rather than `Call` or `Cast`.
    open_stream: bool,
    payload: Bytes,
    headers: Vec<(String, String)>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("session", &self.session.id())
            .field("id", &self.id)
            .field("serial", &self.serial)
            .field("payload_len", &self.payload.len())
            .field("headers", &self.headers)
            .field("open_stream", &self.open_stream)
            .finish()
    }
}

impl Request {
    pub(crate) fn new(
        session: Session,
        id: Option<u64>,
        serial: u64,
        payload: Bytes,
        headers: Vec<(String, String)>,
        open_stream: bool,
    ) -> Self {
        Self {
            session,
            id,
            serial,
            open_stream,
            payload,
            headers,
        }
    }

    /// The session the request arrived on.
    pub fn session(&self) -> &Session {
        &self.session
    }

    pub(crate) fn serial(&self) -> u64 {
        self.serial
    }

    pub(crate) fn is_open_stream(&self) -> bool {
        self.open_stream
    }

    /// The call id, or `None` for a cast or notification.
    pub fn id(&self) -> Option<u64> {
        self.id
    }

    /// Metadata headers the caller attached, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first header with this name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Removes the first header named `name` and returns its value.
    pub(crate) fn take_header(&mut self, name: &str) -> Option<String> {
        let index = self.headers.iter().position(|(n, _)| n == name)?;
        Some(self.headers.remove(index).1)
    }

    /// The encoded arguments.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Decodes the arguments, by convention a tuple of the wire parameters.
    ///
    /// # Errors
    ///
    /// A `bad arguments` error naming the decoding failure.
    pub fn args<A: DeserializeOwned>(&self) -> Result<A, HandlerError> {
        self.args_named(std::any::type_name::<A>())
    }

    /// [`args`](Self::args), naming the expected type `name` in the error
    /// (generated dispatch decodes through a local type whose own name
    /// says nothing).
    #[doc(hidden)]
    pub fn args_named<A: DeserializeOwned>(&self, name: &str) -> Result<A, HandlerError> {
        codec::decode_value(&self.payload).map_err(|err| {
            HandlerError::new(
                ErrorCode::BAD_ARGUMENTS,
                format!("arguments do not decode as {name}: {}", err_chain(&err)),
            )
        })
    }

    /// Encodes `value` as the answer. For casts and notifications nothing is
    /// encoded and nothing will be sent.
    ///
    /// # Errors
    ///
    /// An `internal` error when the value cannot be encoded.
    pub fn reply<T: Serialize + ?Sized>(&self, value: &T) -> Result<Reply, HandlerError> {
        let Some(id) = self.id else {
            return Ok(Reply(None));
        };
        codec::encode_with(&Frame::Reply(ReplyHeader { id }), value)
            .map(|bytes| Reply(Some(bytes)))
            .map_err(|err| {
                HandlerError::new(
                    ErrorCode::INTERNAL,
                    format!("reply does not encode: {}", err_chain(&err)),
                )
            })
    }
}

/// Formats an error with its sources, for messages sent to the peer.
pub(crate) fn err_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An encoded answer, made by [`Request::reply`].
#[derive(Debug)]
pub struct Reply(pub(crate) Option<Bytes>);

/// A handler's failure, sent to the caller as an error frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct HandlerError {
    code: ErrorCode,
    message: String,
    data: Bytes,
}

impl HandlerError {
    /// An error with the given code and message, and no data.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: Bytes::new(),
        }
    }

    /// An error as an earlier run of the same operation answered it.
    pub(crate) fn from_parts(code: ErrorCode, message: String, data: Bytes) -> Self {
        Self {
            code,
            message,
            data,
        }
    }

    /// The code, message and data, to keep and answer again.
    pub(crate) fn into_parts(self) -> (ErrorCode, String, Bytes) {
        (self.code, self.message, self.data)
    }

    /// An application error carrying the handler's own error value, which the
    /// caller decodes with [`RemoteError::decode_data`](crate::RemoteError::decode_data).
    ///
    /// # Errors
    ///
    /// When `value` does not encode, an `internal` error is returned instead.
    pub fn application<E: Serialize + ?Sized>(message: impl Into<String>, value: &E) -> Self {
        match postcard::to_allocvec(value) {
            Ok(data) => Self {
                code: ErrorCode::APPLICATION,
                message: message.into(),
                data: Bytes::from(data),
            },
            Err(err) => Self::new(
                ErrorCode::INTERNAL,
                format!("error value does not encode: {err}"),
            ),
        }
    }

    /// The code sent to the caller.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message sent to the caller.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The encoded error value sent to the caller.
    pub fn data(&self) -> &[u8] {
        &self.data
    }
}

/// Where a wire name leads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route {
    pub(crate) router: usize,
    pub(crate) method: usize,
    pub(crate) timeout: Option<Duration>,
    /// A call or cast whose handler starts on the reader
    /// ([`Router::runs_inline`]).
    pub(crate) inline: bool,
}

/// The routers mounted on one side, with a dispatch table by wire name.
#[derive(Default)]
pub(crate) struct Routes {
    routers: Vec<Mounted>,
    /// The peer names the method, but only this side inserts: a lookup with
    /// any name probes at most this small table, so the fast unkeyed hash
    /// is safe here, and `SipHash` was a visible share of admission.
    table: FxHashMap<String, Route>,
    /// Middleware around every handler.
    pub(crate) layers: Layers,
}

/// A mounted router, with the metric handles of its methods by index. One
/// vector for both keeps `Routes`, which builders hold, as small as it was.
struct Mounted {
    router: Arc<dyn Router>,
    served: Box<[Served]>,
}

impl fmt::Debug for Routes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.routers.iter().map(|m| &m.router.info().name))
            .finish()
    }
}

impl Routes {
    /// Adds a router, refusing empty, reserved or already-served names.
    pub(crate) fn mount(&mut self, router: Arc<dyn Router>) -> Result<(), MountError> {
        let info = router.info();
        let index = self.routers.len();
        let mut added = Vec::with_capacity(info.methods.len());
        for (method, m) in info.methods.iter().enumerate() {
            // A name past the protocol's bound would mount, yet every call
            // to it would close the caller's session.
            let refusal = if m.name.is_empty()
                || m.name.len() > crate::protocol::bounds::MAX_NAME
                || m.name.starts_with(RESERVED_PREFIX)
            {
                Some(MountError::InvalidName {
                    method: m.name.to_string(),
                    router: info.name.to_string(),
                })
            } else {
                self.table
                    .get(m.name.as_ref())
                    .map(|taken| MountError::DuplicateMethod {
                        method: m.name.to_string(),
                        first: self.routers.get(taken.router).map_or_else(
                            || info.name.to_string(),
                            |m| m.router.info().name.to_string(),
                        ),
                        second: info.name.to_string(),
                    })
            };
            if let Some(err) = refusal {
                for name in added {
                    self.table.remove(&name);
                }
                return Err(err);
            }
            let route = Route {
                router: index,
                method,
                timeout: m.timeout_ms.map(Duration::from_millis),
                inline: matches!(m.kind, MethodKind::Call | MethodKind::Cast)
                    && router.runs_inline(method),
            };
            self.table.insert(m.name.to_string(), route);
            added.push(m.name.to_string());
        }
        let served = info.methods.iter().map(|m| Served::new(m.name.clone()));
        self.routers.push(Mounted {
            router,
            served: served.collect(),
        });
        Ok(())
    }

    /// The metric handles of the method `route` leads to.
    pub(crate) fn served(&self, route: Route) -> &Served {
        &self.routers[route.router].served[route.method]
    }

    /// The metric handles of the method named `name`, or those of unknown
    /// names: the peer chose `name`, so it labels nothing unless mounted.
    pub(crate) fn served_by_name(&self, name: &str) -> &Served {
        self.route(name)
            .map_or(&UNKNOWN_METHOD, |route| self.served(route))
    }

    pub(crate) fn route(&self, name: &str) -> Option<Route> {
        self.table.get(name).copied()
    }

    /// Runs a synchronous method at once (see [`Router::dispatch_now`]);
    /// gives the request back for [`dispatch`](Self::dispatch) otherwise,
    /// and always when middleware wraps the handlers (they take futures).
    pub(crate) fn dispatch_now(
        &self,
        route: Route,
        mut request: Request,
    ) -> Result<Result<Reply, HandlerError>, Request> {
        if !self.layers.is_empty() {
            return Err(request);
        }
        let router = &self.routers[route.router].router;
        // Taken from the request here, the schema header is not checked
        // again by `dispatch`.
        if let Err(refusal) = schema::check::request(router.as_ref(), route.method, &mut request) {
            return Ok(Err(refusal));
        }
        router.dispatch_now(route.method, request)
    }

    /// Runs `route`'s handler for `request`, through the layers, unless
    /// the request names a schema other than the method's.
    pub(crate) fn dispatch(&self, route: Route, mut request: Request) -> HandlerFuture {
        let router = &self.routers[route.router].router;
        if let Err(refusal) = schema::check::request(router.as_ref(), route.method, &mut request) {
            return Box::pin(std::future::ready(Err(refusal)));
        }
        self.layers.dispatch(router, route.method, request)
    }

    /// Metadata of every mounted router, with the schemas the routers give,
    /// encoded once for discover answers.
    pub(crate) fn describe(&self) -> DiscoverAnswer {
        let infos: Vec<RouterInfo> = self
            .routers
            .iter()
            .map(|mounted| mounted.router.info().with_schema(mounted.router.schema()))
            .collect();
        DiscoverAnswer::new(&infos)
    }
}
