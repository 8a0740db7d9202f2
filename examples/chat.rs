//! Chat rooms over push: members join rooms (session tags), messages are
//! broadcast to a room (encoded once for all its members), and a bot pushes
//! to one user from outside any handler.
//!
//! Run it with `cargo run --example chat`.

use std::time::Duration;

use rpc::{Audience, Client, Identity, Refusal, Server, Session};
use tokio::sync::mpsc;

/// The chat server.
struct Chat;

/// Rooms and messages.
#[rpc::router]
impl Chat {
    /// Joins `room`; returns the members already there.
    #[rpc::call]
    async fn join(&self, session: &Session, room: String) -> Vec<String> {
        let nick = nick(session);
        let members = session.registry().map_or_else(Vec::new, |registry| {
            registry
                .find(Audience::Tag("room", &room))
                .iter()
                .map(|member| format!("session {}", member.session_id()))
                .collect()
        });
        session.tag("room", room.as_str());
        println!("server: {nick} joined {room}");
        members
    }

    /// Says `text` to everyone in the caller's room.
    #[rpc::cast]
    async fn say(&self, session: &Session, text: String) {
        let (Some(room), Some(registry)) = (session.tag_value("room"), session.registry()) else {
            return;
        };
        let from = nick(session);
        match registry.broadcast(Audience::Tag("room", &room), "message", &(from, text)) {
            Ok(report) => println!(
                "server: broadcast to {room}: {} reached, {} full, {} closed",
                report.reached, report.full, report.closed
            ),
            Err(err) => println!("server: broadcast failed: {err}"),
        }
    }
}

fn nick(session: &Session) -> String {
    session
        .identity()
        .map_or_else(|| "anonymous".to_owned(), |id| id.subject().to_owned())
}

/// What a member's client serves: the server pushes messages to it.
struct Member {
    nick: &'static str,
    inbox: mpsc::UnboundedSender<String>,
}

/// Receives chat messages.
#[rpc::router]
impl Member {
    /// A message in one of the member's rooms (a push on topic `message`).
    #[rpc::cast]
    async fn message(&self, from: String, text: String) {
        let line = format!("{} sees <{from}> {text}", self.nick);
        println!("{line}");
        let _ = self.inbox.send(line);
    }
}

async fn member(
    server: &Server,
    nick: &'static str,
) -> Result<(Client, mpsc::UnboundedReceiver<String>), rpc::ConnectError> {
    let (inbox, lines) = mpsc::unbounded_channel();
    let client = Client::builder()
        .header("x-nick", nick)
        .mount(Member { nick, inbox })
        .connect(&format!("ws://{}", server.local_addr().unwrap()))
        .await?;
    Ok((client, lines))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .mount(Chat)
        .authenticate(|request| match request.header("x-nick") {
            Some(nick) if !nick.is_empty() => Ok(Some(Identity::new(nick))),
            _ => Err(Refusal::unauthorized(
                "say who you are in the x-nick header",
            )),
        })
        .bind("127.0.0.1:0")
        .await?;
    println!("server: listening on ws://{}", server.local_addr().unwrap());

    let (alice, mut alice_lines) = member(&server, "alice").await?;
    let (bob, mut bob_lines) = member(&server, "bob").await?;
    let (carol, mut carol_lines) = member(&server, "carol").await?;
    for (client, room) in [(&alice, "rust"), (&bob, "rust"), (&carol, "go")] {
        let already: Vec<String> = ChatClient::new(client.peer()).join(room.to_owned()).await?;
        println!("{room}: joined; already there: {already:?}");
    }

    ChatClient::new(alice.peer())
        .say("hello, rustaceans".to_owned())
        .await?;
    // Alice and Bob are in `rust`; Carol, in `go`, hears nothing.
    alice_lines.recv().await;
    bob_lines.recv().await;

    // A bot, outside any handler, pushes to one user found by identity.
    let bot = tokio::spawn({
        let registry = server.registry().clone();
        async move {
            for handle in registry.find(Audience::Identity("carol")) {
                let _ = handle
                    .push("message", &("bot", "welcome to go, carol"))
                    .await;
            }
        }
    });
    bot.await?;
    carol_lines.recv().await;
    let quiet = tokio::time::timeout(Duration::from_millis(100), alice_lines.recv()).await;
    println!("alice received nothing meant for carol: {}", quiet.is_err());

    for client in [alice, bob, carol] {
        client.close().await;
    }
    server.shutdown().await;
    Ok(())
}
