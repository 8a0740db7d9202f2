//! Methods that reach back to the caller: a call back to a method the
//! caller serves, and a push to it.

use rpc::Session;

/// The method the server calls back on the caller: `double(x: i64) -> i64`,
/// a call the caller serves.
pub(crate) const CALLBACK: &str = "double";

/// The topic the server pushes a `String` on; it reaches the caller's cast
/// `note(text: String)`.
pub(crate) const NOTE: &str = "note";

/// Reaches back to the caller.
pub(crate) struct Duplex;

/// Calls that make the server call or push to the caller, over the same
/// connection.
#[rpc::router]
impl Duplex {
    /// Calls `double(x)` back on the caller and answers with what it said;
    /// fails with the reason when the caller does not serve `double`.
    #[rpc::call]
    async fn callback(&self, session: &Session, x: i64) -> Result<i64, String> {
        session
            .peer()
            .call(CALLBACK, &(x,))
            .await
            .map_err(|err| format!("calling `{CALLBACK}` back failed: {err}"))
    }

    /// Pushes `text` to the caller on topic `note`, then answers.
    #[rpc::call]
    async fn notify(&self, session: &Session, text: String) -> Result<(), String> {
        session
            .push_handle()
            .push(NOTE, &text)
            .await
            .map_err(|err| format!("pushing `{NOTE}` failed: {err}"))
    }
}
