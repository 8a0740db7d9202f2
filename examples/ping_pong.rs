//! A server and a client in one program, calling each other both ways over
//! one WebSocket connection, and printing what they did.
//!
//! Run it with `cargo run --example ping_pong`.

#[path = "routers/mod.rs"]
#[allow(
    dead_code,
    reason = "this example uses the calculator and echo routers only"
)]
mod routers;

use routers::{Calculator, CalculatorClient, DivError, Echo, EchoClient};
use rpc::{Client, Server, Session};

/// The server's table: it answers pings and pings the caller back.
struct Table;

/// The server's side of the game.
#[rpc::router]
impl Table {
    /// Answers ping `round`, after pinging the caller back.
    #[rpc::call]
    async fn ping(&self, session: &Session, round: u32) -> String {
        println!("server: got ping {round} from session {}", session.id());
        let player = PlayerClient::new(&session.peer());
        match player.pong(round).await {
            Ok(reply) => println!("server: the client answered my ping back: {reply}"),
            Err(err) => println!("server: could not ping back: {err}"),
        }
        format!("pong {round}")
    }
}

/// The client's player: the server calls it.
struct Player;

/// The client's side of the game.
#[rpc::router]
impl Player {
    /// Answers the server's ping back.
    #[rpc::call]
    async fn pong(&self, round: u32) -> String {
        println!("client: the server pinged me back in round {round}");
        format!("pong-back {round}")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .mount(Table)
        .mount(Calculator)
        .mount(Echo)
        .bind("127.0.0.1:0")
        .await?;
    println!("server: listening on ws://{}", server.local_addr().unwrap());

    let client = Client::builder()
        .mount(Player)
        .connect(&format!("ws://{}", server.local_addr().unwrap()))
        .await?;
    println!("client: connected as session {}", client.session().id());

    let table = TableClient::new(client.peer());
    for round in 1..=3 {
        let answer = table.ping(round).await?;
        println!("client: the server answered: {answer}");
    }

    let calculator = CalculatorClient::new(client.peer());
    println!("client: 40 + 2 = {}", calculator.add(40, 2).await?);
    match calculator.div(1, 0).await? {
        Ok(quotient) => println!("client: 1 / 0 = {quotient}?"),
        Err(DivError::ByZero) => {
            println!("client: 1 / 0 failed as it should: {}", DivError::ByZero);
        }
    }

    let echo = EchoClient::new(client.peer());
    println!("client: the server sees me as {}", echo.whoami().await?);
    println!(
        "client: echo says {:?}",
        echo.echo("hello".to_owned()).await?
    );
    let bytes = echo.bytes(vec![1, 2, 3]).await?;
    println!("client: {} bytes came back", bytes.len());
    echo.shout("a cast: no answer expected".to_owned()).await?;

    println!("client: the server serves:");
    for router in client.peer().discover().await? {
        for method in router.methods.iter() {
            let params: Vec<String> = method
                .params
                .iter()
                .map(|p| format!("{}: {}", p.name, p.ty))
                .collect();
            println!(
                "  {}.{}({}) -> {}  [{:?}] {}",
                router.name,
                method.name,
                params.join(", "),
                method.returns,
                method.kind,
                method.docs.lines().next().unwrap_or_default().trim(),
            );
        }
    }

    let reason = client.close().await;
    println!("client: {reason}");
    server.shutdown().await;
    println!("server: shut down");
    Ok(())
}
