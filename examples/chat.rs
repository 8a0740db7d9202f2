//! Chat rooms over push: members join rooms (a session may be in several:
//! tags with many values per key), messages are broadcast to a room
//! (encoded once for all its members), a bot pushes to one user found by
//! identity from outside any handler, and the server hears of departures
//! through the registry's events.
//!
//! Run it with `cargo run --example chat`.

use std::time::Duration;

use rpc::{Audience, Client, Identity, Refusal, RegistryEvent, Server, Session, TagError};
use tokio::sync::mpsc;

/// The chat server.
struct Chat;

/// Rooms and messages.
#[rpc::router]
impl Chat {
    /// Joins `room`, staying in the rooms already joined; returns who was
    /// there before.
    #[rpc::call]
    async fn join(&self, session: &Session, room: String) -> Result<Vec<String>, String> {
        let members = session.registry().map_or_else(Vec::new, |registry| {
            registry
                .find(Audience::Tag("room", &room))
                .iter()
                .map(|member| {
                    member.identity().map_or_else(
                        || format!("session {}", member.id()),
                        |id| id.subject().to_owned(),
                    )
                })
                .collect()
        });
        // A peer chooses the room names: the session's tag limit bounds how
        // many it can make the server keep.
        session
            .join("room", room.as_str())
            .map_err(|err: TagError| err.to_string())?;
        println!("server: {} joined {room}", nick(session));
        Ok(members)
    }

    /// Says `text` to everyone in `room`, if the caller is in it.
    #[rpc::cast]
    async fn say(&self, session: &Session, room: String, text: String) {
        let Some(registry) = session
            .registry()
            .filter(|_| session.has_tag("room", &room))
        else {
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

    // Departures, as they happen (a bounded subscription: see RegistryEvents).
    let mut events = server.registry().events();
    let departures = tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            if let RegistryEvent::Left {
                identity: Some(who),
                reason,
                ..
            } = event
            {
                println!("server: {who} left ({reason})");
            }
        }
    });

    let (alice, mut alice_lines) = member(&server, "alice").await?;
    let (bob, mut bob_lines) = member(&server, "bob").await?;
    let (carol, mut carol_lines) = member(&server, "carol").await?;
    // Bob is in two rooms at once.
    for (client, room) in [
        (&alice, "rust"),
        (&bob, "rust"),
        (&bob, "go"),
        (&carol, "go"),
    ] {
        let already = ChatClient::new(client.peer())
            .join(room.to_owned())
            .await??;
        println!("{room}: joined; already there: {already:?}");
    }

    ChatClient::new(alice.peer())
        .say("rust".to_owned(), "hello, rustaceans".to_owned())
        .await?;
    // Alice and Bob are in `rust`; Carol, in `go` only, hears nothing.
    alice_lines.recv().await;
    bob_lines.recv().await;
    ChatClient::new(carol.peer())
        .say("go".to_owned(), "hello, gophers".to_owned())
        .await?;
    carol_lines.recv().await;
    bob_lines.recv().await;

    // A bot, outside any handler, pushes to one user found by identity.
    let bot = tokio::spawn({
        let registry = server.registry().clone();
        async move {
            for member in registry.find(Audience::Identity("carol")) {
                println!("bot: carol is in {:?}", member.tags());
                let _ = member
                    .push_handle()
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
    departures.await?;
    Ok(())
}
