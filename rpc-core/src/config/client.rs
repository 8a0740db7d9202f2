//! The client's own settings, around its session.

use std::time::Duration;

use super::{ConfigError, SessionConfig, require};

/// Configuration of a [`Client`](crate::Client).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Settings of the client's session. Default: see [`SessionConfig`].
    pub session: SessionConfig,
    /// Time allowed for TCP connect, upgrade and protocol handshake together.
    /// Default: 10 s.
    pub connect_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            session: SessionConfig::default(),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl ClientConfig {
    /// Sets [`session`](Self::session).
    pub fn session(mut self, session: SessionConfig) -> Self {
        self.session = session;
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Checks that every limit can be met.
    ///
    /// # Errors
    ///
    /// Names the first field whose value cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.session.validate()?;
        require(
            !self.connect_timeout.is_zero(),
            "connect_timeout",
            "must be positive",
        )
    }
}
