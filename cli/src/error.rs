//! What can go wrong, each with the exit code a script can rely on
//! (docs/cli.md, "Exit codes"), and how it is reported on stderr.

use std::{process::ExitCode, time::Duration};

use rpc_core::{ConnectError, Error, ErrorCode, RemoteError, StreamError};
use serde_json::{Value, json};

/// The exit codes, as `rpc --help` lists them.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the server answered an error (one JSON object on stderr:
     {\"code\":N,\"kind\":...,\"message\":...,\"data\":<decoded error value or null>})
  2  usage: bad arguments, unknown method, JSON that does not fit the schema
  3  cannot connect, connection lost, or upgrade refused (HTTP status and body)
  4  timeout (--timeout)
  5  incompatible schema: the server's method changed shape, or its answer
     does not decode by the schema it gave";

/// Why the command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Bad arguments, an unknown method, JSON that does not fit.
    #[error("{0}")]
    Usage(String),
    /// The server answered with an error; `data` is its decoded value.
    #[error("the server answered {}: {}", .remote.code(), .remote.message())]
    Remote {
        remote: RemoteError,
        kind: &'static str,
        data: Value,
    },
    /// The upgrade, TCP connection or handshake failed.
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: ConnectError,
    },
    /// The connection ended, or a request could not be sent.
    #[error("{0}")]
    Connection(String),
    /// Nothing came within the timeout.
    #[error("{0}")]
    Timeout(String),
    /// The server's answer does not decode by the server's own schema.
    #[error("{0}")]
    Mismatch(String),
}

impl CliError {
    /// A usage error.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    /// A failed request; `decode_data` reads an application error's value.
    pub(crate) fn request(err: Error, decode_data: impl FnOnce(&RemoteError) -> Value) -> Self {
        match err {
            Error::Remote(remote) => Self::remote(remote, decode_data),
            Error::Timeout(limit) => CliError::Timeout(no_answer(limit)),
            Error::TooLarge { size, max } => CliError::usage(format!(
                "the request of {size} bytes is larger than the server accepts ({max} bytes)"
            )),
            other => CliError::Connection(error_chain(&other)),
        }
    }

    /// A stream that failed after it opened; `decode_data` reads an
    /// application error's value.
    pub(crate) fn stream(
        err: StreamError,
        decode_data: impl FnOnce(&RemoteError) -> Value,
    ) -> Self {
        match err {
            StreamError::Application(remote) => Self::remote(remote, decode_data),
            StreamError::Timeout(limit) => CliError::Timeout(format!("no item within {limit:?}")),
            other => CliError::Connection(error_chain(&other)),
        }
    }

    fn remote(remote: RemoteError, decode_data: impl FnOnce(&RemoteError) -> Value) -> Self {
        let data = if remote.data().is_empty() {
            Value::Null
        } else {
            decode_data(&remote)
        };
        let kind = Error::Remote(remote.clone()).kind();
        CliError::Remote { remote, kind, data }
    }

    /// A failed connection attempt to `url`.
    pub(crate) fn connect(url: &str, source: ConnectError) -> Self {
        match source {
            ConnectError::Timeout(limit) => {
                CliError::Timeout(format!("no connection to {url} within {limit:?}"))
            }
            ConnectError::InvalidUrl { .. } => CliError::usage(source.to_string()),
            source => CliError::Connect {
                url: url.to_owned(),
                source,
            },
        }
    }

    /// The exit code of this failure.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Remote { remote, .. } if remote.code() == ErrorCode::INCOMPATIBLE_SCHEMA => 5,
            CliError::Remote { .. } => 1,
            CliError::Mismatch(_) => 5,
            CliError::Usage(_) => 2,
            CliError::Connect { .. } | CliError::Connection(_) => 3,
            CliError::Timeout(_) => 4,
        }
    }

    /// Writes the failure to stderr: an error answer as one JSON object,
    /// anything else as a line starting with `rpc: `.
    pub(crate) fn report(&self) -> ExitCode {
        match self {
            CliError::Remote { remote, kind, data } => {
                let answer = json!({
                    "code": remote.code().0,
                    "kind": kind,
                    "message": remote.message(),
                    "data": data,
                });
                eprintln!("{answer}");
            }
            CliError::Connect { source, .. } => {
                eprintln!("rpc: {self}{}", causes(source));
            }
            other => eprintln!("rpc: {other}"),
        }
        ExitCode::from(self.exit_code())
    }
}

fn no_answer(limit: Duration) -> String {
    format!("no answer within {limit:?}")
}

/// `err` and its causes, separated by `: `.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    format!("{err}{}", causes(err))
}

/// The causes of `err` (not `err` itself), each after `: `.
fn causes(err: &dyn std::error::Error) -> String {
    let mut text = String::new();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_has_its_exit_code() {
        let usage = CliError::usage("bad");
        assert_eq!(usage.exit_code(), 2);
        let timeout = CliError::request(Error::Timeout(Duration::from_secs(1)), |_| Value::Null);
        assert_eq!(timeout.exit_code(), 4);
        let refused = CliError::connect(
            "ws://h",
            ConnectError::Refused {
                status: 401,
                body: Some("a token, please".to_owned()),
            },
        );
        assert_eq!(refused.exit_code(), 3);
        assert_eq!(
            refused.to_string(),
            "cannot connect to ws://h: server refused the connection with HTTP 401: a token, please"
        );
        assert_eq!(CliError::Mismatch(String::new()).exit_code(), 5);
    }
}
