//! The application's hooks on a session's life, set on a server's or a
//! client's builder: one when the session starts, before it reads its
//! first frame; one when it has ended, with the reason.

use std::{fmt, sync::Arc};

use super::Session;
use crate::error::CloseReason;

/// Runs on every new session ([`ServerBuilder::on_connect`](crate::ServerBuilder::on_connect)).
pub(crate) type OnConnect = Arc<dyn Fn(&Session) + Send + Sync>;

/// Runs on every ended session ([`ServerBuilder::on_disconnect`](crate::ServerBuilder::on_disconnect)).
pub(crate) type OnDisconnect = Arc<dyn Fn(&Session, &CloseReason) + Send + Sync>;

#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) on_connect: Option<OnConnect>,
    pub(crate) on_disconnect: Option<OnDisconnect>,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("on_connect", &self.on_connect.is_some())
            .field("on_disconnect", &self.on_disconnect.is_some())
            .finish()
    }
}
