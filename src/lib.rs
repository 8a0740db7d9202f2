//! Bidirectional RPC over WebSocket: either side calls, casts to and
//! discovers the other over one connection.
//!
//! # Example
//!
//! A router written by hand (the `#[rpc::router]` macro writes this for you),
//! a server on a free port, a client that calls it and asks what it serves:
//!
//! ```
//! use std::sync::Arc;
//! use rpc::{Client, HandlerFuture, MethodInfo, MethodKind, ParamInfo, Request, Router, RouterInfo, Server};
//!
//! struct Calculator;
//!
//! static ADD_PARAMS: [ParamInfo; 2] = [ParamInfo::new("a", "i64"), ParamInfo::new("b", "i64")];
//! static METHODS: [MethodInfo; 1] =
//!     [MethodInfo::new("add", MethodKind::Call, &ADD_PARAMS, "i64", "Adds two numbers.", None)];
//! static CALCULATOR: RouterInfo = RouterInfo::new("Calculator", "Arithmetic.", &METHODS);
//!
//! impl Router for Calculator {
//!     fn info(&self) -> &'static RouterInfo {
//!         &CALCULATOR
//!     }
//!
//!     fn dispatch(self: Arc<Self>, _method: usize, request: Request) -> HandlerFuture {
//!         Box::pin(async move {
//!             let (a, b): (i64, i64) = request.args()?;
//!             request.reply(&(a + b))
//!         })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::builder().mount(Calculator).bind("127.0.0.1:0").await?;
//! let client = Client::connect(&format!("ws://{}", server.local_addr())).await?;
//!
//! let sum: i64 = client.call("add", &(2, 3)).await?;
//! assert_eq!(sum, 5);
//!
//! let routers = client.discover().await?;
//! assert_eq!(routers[0].methods[0].name, "add");
//!
//! client.close().await;
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - Duplex sessions: a client mounts routers too, and the server calls it
//!   through [`Session::peer`].
//! - Limits with defaults on every resource: message size, calls in flight,
//!   connections, handshake time, outbound queue ([`SessionConfig`],
//!   [`ServerConfig`], [`ClientConfig`]).
//! - Typed errors ([`Error`]) with predicates: `is_timeout()`, `is_closed()`.
//! - Graceful shutdown, authentication at upgrade time, tracing spans per
//!   session and per call.
//! - The wire format is specified in `docs/protocol.md`.

pub use rpc_core::*;

/// What macro-generated code names. Not public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
    pub use rpc_core;
    pub use serde;
}
