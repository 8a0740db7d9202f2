//! Schema hashes on requests ([`SCHEMA_HEADER`]): the callee refuses a
//! request whose hash is not its method's, and the caller sends the hash
//! only until the callee has accepted it once in the session.

use std::{collections::HashMap, sync::Mutex};

use crate::{
    Error, HandlerError, Request, Router,
    error::RemoteError,
    protocol::{ErrorCode, SCHEMA_HEADER},
};

/// How a hash is written in [`SCHEMA_HEADER`].
pub(crate) fn hash_text(hash: u64) -> String {
    format!("{hash:016x}")
}

/// The callee's check: `Err` when `request` carries a schema hash and the
/// method `method` of `router` has another. The header is taken out of the
/// request: it concerns the protocol, not the handler.
pub(crate) fn request(
    router: &dyn Router,
    method: usize,
    request: &mut Request,
) -> Result<(), HandlerError> {
    // Most requests carry no headers at all.
    if request.headers().is_empty() {
        return Ok(());
    }
    let Some(theirs) = request.take_header(SCHEMA_HEADER) else {
        return Ok(());
    };
    let theirs = theirs.as_str();
    let Some(ours) = router
        .schema()
        .and_then(|schema| schema.methods.get(method))
    else {
        return Ok(());
    };
    let ours = hash_text(ours.hash);
    if theirs == ours {
        return Ok(());
    }
    let name = router
        .info()
        .methods
        .get(method)
        .map_or("?", |info| info.name.as_ref());
    let theirs = if theirs.len() == 16 {
        theirs
    } else {
        "a malformed hash"
    };
    Err(HandlerError::new(
        ErrorCode::INCOMPATIBLE_SCHEMA,
        format!(
            "incompatible schema: the caller's `{name}` has schema {theirs}, this side's has {ours}; rebuild the caller against this side's API, or discover it again"
        ),
    ))
}

/// The caller's record, per session, of which methods' hashes the callee
/// accepted or refused.
#[derive(Debug, Default)]
pub(crate) struct SchemaChecks {
    methods: Mutex<HashMap<Box<str>, Verdict>>,
}

#[derive(Debug, Clone)]
enum Verdict {
    /// The callee answered a request carrying this hash.
    Accepted(u64),
    /// The callee refused this hash with this message.
    Refused(u64, String),
}

/// What a request with a schema hash does.
pub(crate) enum Plan {
    /// Send it without the header: the callee accepted this hash already.
    Plain,
    /// Send it with this header value, and [`SchemaChecks::settle`] the
    /// outcome.
    Check(String),
}

impl SchemaChecks {
    /// Plans a request of `method` by a caller whose schema hash is `hash`;
    /// `Err` with the callee's earlier refusal when it refused this hash.
    pub(crate) fn plan(&self, method: &str, hash: u64) -> Result<Plan, Error> {
        let methods = self
            .methods
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match methods.get(method) {
            Some(Verdict::Accepted(accepted)) if *accepted == hash => Ok(Plan::Plain),
            Some(Verdict::Refused(refused, message)) if *refused == hash => {
                Err(refusal(message.clone()))
            }
            _ => Ok(Plan::Check(hash_text(hash))),
        }
    }

    /// Records what the callee made of a request of `method` that carried
    /// `hash`: an answer or an application error accepts it, an
    /// `incompatible schema` error refuses it, anything else says nothing.
    pub(crate) fn settle<T>(&self, method: &str, hash: u64, outcome: &Result<T, Error>) {
        let verdict = match outcome {
            Ok(_) => Verdict::Accepted(hash),
            Err(Error::Remote(remote)) if remote.code() == ErrorCode::APPLICATION => {
                Verdict::Accepted(hash)
            }
            Err(Error::Remote(remote)) if remote.code() == ErrorCode::INCOMPATIBLE_SCHEMA => {
                Verdict::Refused(hash, remote.message().to_owned())
            }
            Err(_) => return,
        };
        let mut methods = self
            .methods
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        methods.insert(method.into(), verdict);
    }
}

fn refusal(message: String) -> Error {
    Error::Remote(RemoteError::new(
        ErrorCode::INCOMPATIBLE_SCHEMA,
        message,
        bytes::Bytes::new(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_sent_until_accepted_and_a_refusal_is_remembered() {
        let checks = SchemaChecks::default();
        assert!(
            matches!(checks.plan("add", 7), Ok(Plan::Check(text)) if text == "0000000000000007")
        );
        checks.settle::<()>("add", 7, &Err(Error::Disconnected));
        assert!(matches!(checks.plan("add", 7), Ok(Plan::Check(_))));
        checks.settle("add", 7, &Ok(()));
        assert!(matches!(checks.plan("add", 7), Ok(Plan::Plain)));
        // Another hash for the same name (another stub) is checked anew.
        assert!(matches!(checks.plan("add", 8), Ok(Plan::Check(_))));
        checks.settle::<()>(
            "add",
            8,
            &Err(refusal("incompatible schema: ...".to_owned())),
        );
        let Err(Error::Remote(remote)) = checks.plan("add", 8) else {
            panic!("the refusal is not remembered");
        };
        assert_eq!(remote.code(), ErrorCode::INCOMPATIBLE_SCHEMA);
    }
}
