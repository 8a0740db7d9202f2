//! `Rooms`: chat rooms that span every node of a cluster. A session joins a
//! room by being tagged with it; `say` broadcasts through the registry,
//! which reaches the room's sessions on this node and, when the server is
//! a node of a cluster (`--redis`), on every other node through the bus.

use rpc::{Audience, Session};

/// Chat rooms across nodes.
pub(crate) struct Rooms;

/// Joining rooms and speaking in them.
#[rpc::router]
impl Rooms {
    /// Tags the calling session with `room` (`room=<room>`); a session may
    /// be in several rooms.
    #[rpc::call]
    async fn join(&self, session: &Session, room: String) -> Result<(), String> {
        session
            .join("room", &room)
            .map(drop)
            .map_err(|err| err.to_string())
    }

    /// Pushes topic `said` with `(room, text)` to every session in `room`
    /// on every node; answers how many sessions of this node it reached.
    #[rpc::call]
    async fn say(&self, session: &Session, room: String, text: String) -> Result<u64, String> {
        let registry = session.registry().ok_or("not a server's session")?;
        let report = registry
            .broadcast(Audience::Tag("room", &room), "said", &(&room, &text))
            .map_err(|err| err.to_string())?;
        Ok(u64::try_from(report.reached).unwrap_or(u64::MAX))
    }
}
