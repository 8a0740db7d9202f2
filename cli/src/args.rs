//! The command line, as clap parses it.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::error::EXIT_CODES;

/// Talk to a wsduplex server from a shell: list what it serves, call its
/// methods, read its streams and its notifications, with JSON in and out.
#[derive(Debug, Parser)]
#[command(name = "rpc", version, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the server's routers, methods and types.
    Discover {
        #[command(flatten)]
        server: Server,
        /// Print the discover answer as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Call a method and print its answer as JSON (a cast prints nothing).
    Call {
        #[command(flatten)]
        server: Server,
        #[command(flatten)]
        request: Request,
        /// Print the answer indented over several lines.
        #[arg(long)]
        pretty: bool,
    },
    /// Open a server stream and print each item as one line of JSON.
    Stream {
        #[command(flatten)]
        server: Server,
        #[command(flatten)]
        request: Request,
        /// Stop after N items.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
    },
    /// Print the notifications the server pushes on a topic, one line of
    /// JSON each.
    Listen {
        #[command(flatten)]
        server: Server,
        /// The topic.
        topic: String,
        /// The notifications' type in Rust syntax (`String`,
        /// `Option<(i64, String)>`, `HashMap<String, i64>`, or a type the
        /// server's discover lists, such as `Tick`); without it each line is
        /// `{"topic": ..., "bytes": BASE64}`.
        #[arg(long = "type", value_name = "TYPE")]
        ty: Option<String>,
        /// Call `METHOD` with `ARGS_JSON` first (to subscribe, say).
        #[arg(long, num_args = 2, value_names = ["METHOD", "ARGS_JSON"])]
        call: Option<Vec<String>>,
        /// Stop after N notifications.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
    },
}

/// Where the server is and how to reach it.
#[derive(Debug, Args)]
pub(crate) struct Server {
    /// The server's URL: ws://host:port/path or wss://...
    pub(crate) url: String,
    /// A header of the WebSocket upgrade request, such as
    /// `authorization=Bearer T` (what the server's authentication hook
    /// reads); repeatable.
    #[arg(short = 'H', long = "header", value_name = "NAME=VALUE", value_parser = name_value)]
    pub(crate) headers: Vec<(String, String)>,
    /// Seconds to wait for the connection and for each answer; `stream`
    /// and `listen` wait for their items without limit unless it is given.
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    pub(crate) timeout: Option<Duration>,
}

impl Server {
    /// The timeout of connecting and of each answer.
    pub(crate) fn answer_timeout(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }
}

/// What `call` and `stream` send.
#[derive(Debug, Args)]
pub(crate) struct Request {
    /// The method's wire name, as `rpc discover` lists it.
    pub(crate) method: String,
    /// The arguments: a JSON array (in order) or object (by parameter
    /// name).
    #[arg(value_name = "ARGS_JSON", default_value = "[]")]
    pub(crate) args: String,
    /// A metadata header of the request, which the handler reads
    /// (`Request::header`); repeatable.
    #[arg(long = "meta", value_name = "NAME=VALUE", value_parser = name_value)]
    pub(crate) meta: Vec<(String, String)>,
}

/// How long to wait when `--timeout` is not given.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

fn name_value(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))?;
    if name.trim().is_empty() {
        return Err(format!("`{text}` has no name before `=`"));
    }
    Ok((name.trim().to_owned(), value.to_owned()))
}

fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .filter(|limit| !limit.is_zero())
        .ok_or_else(|| format!("`{text}` is not a positive number of seconds"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn headers_split_at_the_first_equals_sign() {
        assert_eq!(
            name_value("authorization=Bearer a=b").unwrap(),
            ("authorization".to_owned(), "Bearer a=b".to_owned())
        );
        assert!(name_value("no-equals").is_err());
        assert!(name_value("=value").is_err());
    }

    #[test]
    fn timeouts_are_positive_seconds() {
        assert_eq!(seconds("1.5").unwrap(), Duration::from_millis(1500));
        assert!(seconds("0").is_err());
        assert!(seconds("-1").is_err());
        assert!(seconds("soon").is_err());
    }

    #[test]
    fn listen_takes_a_call_of_two_values() {
        let cli = Cli::try_parse_from([
            "rpc",
            "listen",
            "ws://h",
            "note",
            "--call",
            "notify",
            r#"["hi"]"#,
            "--limit",
            "1",
        ])
        .unwrap();
        let Command::Listen { call, limit, .. } = cli.command else {
            panic!("not listen");
        };
        assert_eq!(call.unwrap(), ["notify", r#"["hi"]"#]);
        assert_eq!(limit, Some(1));
    }
}
