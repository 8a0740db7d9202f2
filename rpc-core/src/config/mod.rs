//! Configuration of sessions, servers and clients. Each field states its
//! default; construct with `Default` and change fields with the by-value
//! setters, then the builder validates once.

mod client;
mod server;
mod session;

pub use client::ClientConfig;
pub use server::ServerConfig;
pub use session::SessionConfig;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {why}")]
pub struct ConfigError {
    field: &'static str,
    why: &'static str,
}

impl ConfigError {
    /// Name of the offending field.
    pub fn field(&self) -> &'static str {
        self.field
    }
}

pub(crate) fn require(ok: bool, field: &'static str, why: &'static str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError { field, why })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        ServerConfig::default().validate().unwrap();
        ClientConfig::default().validate().unwrap();
    }

    #[test]
    fn zero_limits_are_refused_by_name() {
        let err = SessionConfig::default()
            .max_in_flight(0)
            .validate()
            .unwrap_err();
        assert_eq!(err.field(), "max_in_flight");
        let err = ServerConfig::default()
            .max_connections(0)
            .validate()
            .unwrap_err();
        assert_eq!(err.field(), "max_connections");
        let err = ServerConfig::default()
            .max_operations(0)
            .validate()
            .unwrap_err();
        assert_eq!(err.field(), "max_operations");
        let err = ServerConfig::default()
            .operation_ttl(std::time::Duration::ZERO)
            .validate()
            .unwrap_err();
        assert_eq!(err.field(), "operation_ttl");
    }
}
