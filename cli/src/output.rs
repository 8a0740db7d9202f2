//! Writing to stdout: one JSON value a line, or indented; a reader that
//! went away (`rpc stream ... | head -1`) ends the command quietly.

use std::io::{self, Write};

use serde_json::Value;

/// Whether stdout is still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    Yes,
    ReaderGone,
}

/// Writes `value` as one line of JSON, or indented when `pretty`.
pub(crate) fn json(value: &Value, pretty: bool) -> Written {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .expect("a serde_json::Value always serializes");
    text_line(&text)
}

/// Writes `text` and a newline, flushed.
pub(crate) fn text_line(text: &str) -> Written {
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Written::Yes,
        Err(_) => Written::ReaderGone,
    }
}
