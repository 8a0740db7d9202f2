//! The server's own settings, around the sessions it accepts.

use std::{net::IpAddr, time::Duration};

use super::{ConfigError, SessionConfig, require};

/// Configuration of a [`Server`](crate::Server).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Settings of every session the server accepts. Default: see [`SessionConfig`].
    pub session: SessionConfig,
    /// Connections served at once; further upgrades are refused with HTTP
    /// 503 before any session exists. Default: 10 000.
    pub max_connections: usize,
    /// Time from TCP accept to the end of the protocol handshake; a slower
    /// client is dropped (after the upgrade, closed with 1008). Default: 10 s.
    pub handshake_timeout: Duration,
    /// How long graceful shutdown lets in-flight calls finish before their
    /// sessions close with 1001. Default: 30 s.
    pub shutdown_grace: Duration,
    /// Origins (`https://app.example.com`: scheme, host, and port when not
    /// the default) whose pages may connect. An upgrade whose `Origin`
    /// header is not in the list (compared ignoring ASCII case) is refused
    /// with HTTP 403 before the authentication hook runs: a page on another
    /// site cannot ride on the cookies of a user who visits it (cross-site
    /// WebSocket hijacking). An upgrade without `Origin` is not from a
    /// browser and is let through. Default: `None`, any origin, which is
    /// right only for a server that browsers never reach.
    pub allowed_origins: Option<Vec<String>>,
    /// A WebSocket subprotocol every client must offer in
    /// `Sec-WebSocket-Protocol`; the server answers with it. An upgrade that
    /// does not offer it is refused with HTTP 400. Default: `None`, no
    /// subprotocol required and none answered.
    pub subprotocol: Option<String>,
    /// Addresses of reverse proxies whose `Forwarded: for=` or
    /// `X-Forwarded-For` headers are believed. When a connection comes from
    /// one of them, its client address
    /// ([`Session::remote_addr`](crate::Session::remote_addr),
    /// [`UpgradeRequest::remote_addr`](crate::UpgradeRequest::remote_addr))
    /// is the nearest forwarded address that is not itself a trusted proxy
    /// (`Forwarded` is used when present, else `X-Forwarded-For`); its port
    /// is the forwarded one, or 0 when none was forwarded. From any other
    /// peer those headers are ignored, since anyone can send them. Default:
    /// empty, no proxy trusted.
    pub trusted_proxies: Vec<IpAddr>,
    /// Events ([`RegistryEvent`](crate::RegistryEvent)) the registry keeps
    /// for subscribers that have not read them yet, shared by all
    /// subscribers; one that falls further behind loses the oldest and is
    /// told how many ([`EventsError::Lagged`](crate::EventsError::Lagged)),
    /// so a slow subscriber never grows memory. Default: 1024.
    pub registry_events: usize,
    /// Operations ([`OPERATION_ID_HEADER`](crate::protocol::OPERATION_ID_HEADER))
    /// the server remembers at once, over all its sessions, running or
    /// ended. Past it, the operation that ended first is forgotten (a retry
    /// of it runs again); when every one is still running, a call naming a
    /// new operation is refused `busy`. Default: 10 000.
    pub max_operations: usize,
    /// Bytes of ended operations' answers the server keeps to answer
    /// retries with. A newer answer pushes out the oldest kept ones; an
    /// answer larger than this is not kept. A retry of an operation whose
    /// answer is not kept is answered with
    /// [`ErrorCode::ANSWER_GONE`](crate::ErrorCode::ANSWER_GONE), not run
    /// again. Default: 16 MiB.
    pub max_operation_bytes: usize,
    /// How long an ended operation is remembered, from its end: the window
    /// in which a retry gets the answer rather than a new run. A run whose
    /// callers all left (their sessions closed) goes on for this long
    /// without one before it is stopped. Default: 5 minutes.
    pub operation_ttl: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            session: SessionConfig::default(),
            max_connections: 10_000,
            handshake_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
            allowed_origins: None,
            subprotocol: None,
            trusted_proxies: Vec::new(),
            registry_events: 1024,
            max_operations: 10_000,
            max_operation_bytes: 16 << 20,
            operation_ttl: Duration::from_secs(5 * 60),
        }
    }
}

impl ServerConfig {
    /// Sets [`session`](Self::session).
    pub fn session(mut self, session: SessionConfig) -> Self {
        self.session = session;
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }

    /// Sets [`handshake_timeout`](Self::handshake_timeout).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`shutdown_grace`](Self::shutdown_grace).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Sets [`allowed_origins`](Self::allowed_origins) to `origins`.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Sets [`subprotocol`](Self::subprotocol).
    pub fn subprotocol(mut self, subprotocol: impl Into<String>) -> Self {
        self.subprotocol = Some(subprotocol.into());
        self
    }

    /// Sets [`trusted_proxies`](Self::trusted_proxies).
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// Sets [`registry_events`](Self::registry_events).
    pub fn registry_events(mut self, events: usize) -> Self {
        self.registry_events = events;
        self
    }

    /// Sets [`max_operations`](Self::max_operations).
    pub fn max_operations(mut self, operations: usize) -> Self {
        self.max_operations = operations;
        self
    }

    /// Sets [`max_operation_bytes`](Self::max_operation_bytes).
    pub fn max_operation_bytes(mut self, bytes: usize) -> Self {
        self.max_operation_bytes = bytes;
        self
    }

    /// Sets [`operation_ttl`](Self::operation_ttl).
    pub fn operation_ttl(mut self, ttl: Duration) -> Self {
        self.operation_ttl = ttl;
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
            self.allowed_origins
                .iter()
                .flatten()
                .all(|origin| is_origin(origin)),
            "allowed_origins",
            "must hold origins such as `https://app.example.com`, without a path",
        )?;
        require(
            self.subprotocol.as_deref().is_none_or(is_token),
            "subprotocol",
            "must be a non-empty HTTP token, without spaces or commas",
        )?;
        require(
            self.trusted_proxies.iter().all(|ip| !ip.is_unspecified()),
            "trusted_proxies",
            "cannot hold an unspecified address such as 0.0.0.0",
        )?;
        require(
            self.max_connections > 0,
            "max_connections",
            "must be at least 1",
        )?;
        require(
            !self.handshake_timeout.is_zero(),
            "handshake_timeout",
            "must be positive",
        )?;
        require(
            self.registry_events > 0,
            "registry_events",
            "must be at least 1",
        )?;
        require(
            self.max_operations > 0,
            "max_operations",
            "must be at least 1",
        )?;
        require(
            !self.operation_ttl.is_zero(),
            "operation_ttl",
            "must be positive",
        )
    }
}

/// `scheme://host[:port]`, as browsers send in `Origin`.
fn is_origin(origin: &str) -> bool {
    origin.split_once("://").is_some_and(|(scheme, host)| {
        is_token(scheme) && !host.is_empty() && !host.contains(['/', '?', '#', ' '])
    })
}

/// An HTTP token (RFC 9110 section 5.6.2), as a subprotocol name must be.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
