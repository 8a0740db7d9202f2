//! The one error type of the benchmark: whatever stops a measurement.

/// Why a benchmark could not run or a measurement failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// Bad command-line arguments; the message says what to write instead.
    #[error("{0}")]
    Usage(String),
    /// A socket, process or file operation failed.
    #[error("i/o failed")]
    Io(#[from] std::io::Error),
    /// An `rpc` server did not start.
    #[error("rpc server did not start")]
    RpcServe(#[from] rpc::ServeError),
    /// An `rpc` client did not connect.
    #[error("rpc client did not connect")]
    RpcConnect(#[from] rpc::ConnectError),
    /// An `rpc` call failed.
    #[error("rpc call failed")]
    Rpc(#[from] rpc::Error),
    /// A jsonrpsee client operation failed.
    #[error("jsonrpsee client failed")]
    Jsonrpsee(#[from] jsonrpsee::core::client::Error),
    /// A jsonrpsee method could not be registered.
    #[error("jsonrpsee method not registered")]
    JsonrpseeRegister(#[from] jsonrpsee::core::RegisterMethodError),
    /// The raw system's WebSocket failed.
    #[error("websocket failed")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// The raw system's postcard encoding or decoding failed.
    #[error("postcard failed")]
    Postcard(#[from] postcard::Error),
    /// A peer answered something other than what the workload expects.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
    /// A measurement did not finish in time.
    #[error("{what} did not finish within {seconds} s")]
    Timeout {
        /// What was waited for.
        what: &'static str,
        /// How long it was given.
        seconds: u64,
    },
}

impl From<tokio_tungstenite::tungstenite::Error> for BenchError {
    fn from(err: tokio_tungstenite::tungstenite::Error) -> Self {
        Self::WebSocket(Box::new(err))
    }
}

impl BenchError {
    /// Formats the error with its sources, for the final message of the binary.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}
