//! Who is on the other end of a session: set by the server's
//! authentication hook, read by handlers and the registry. It lives below
//! both the session and the server, so neither imports the other for it.

use std::fmt;

/// Who is on the other end of a session, as the authentication hook decided.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    subject: String,
}

impl Identity {
    /// An identity named by `subject` (a user id, a service name, ...).
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
        }
    }

    /// The subject the hook gave.
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.subject)
    }
}
