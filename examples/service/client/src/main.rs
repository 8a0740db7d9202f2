//! Bids on an auction server through the stub of the API crate, which is
//! all the client knows of the server.
//!
//! `cargo run -p auction-client -- ws://127.0.0.1:9000 LOT AMOUNT`, with
//! `auction-server` running there.

use auction_api::AuctionClient;
use rpc::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(lot), Some(amount)) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: auction-client ws://HOST:PORT LOT AMOUNT");
        std::process::exit(2);
    };
    let (lot, amount): (u32, u64) = (lot.parse()?, amount.parse()?);

    let client = Client::connect(&url).await?;
    let auction = AuctionClient::new(client.peer());
    // The outer `?` is the call's failure (connection, timeout); the inner
    // result is the auction's answer.
    match auction.bid(lot, amount).await? {
        Ok(highest) => println!("lot {lot}: your bid of {highest} is the highest"),
        Err(refused) => println!("lot {lot}: refused, {refused}"),
    }
    client.close().await;
    Ok(())
}
