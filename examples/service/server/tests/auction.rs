//! The example end to end: the server on 127.0.0.1:0, called through the
//! stub of the API crate, as the client crate calls it.

use std::time::Duration;

use auction_api::{AuctionClient, BidError};
use futures_util::StreamExt;
use rpc::{Client, Server};

#[tokio::test]
async fn bids_through_the_stub() {
    let server = Server::builder()
        .mount(auction_server::router(3))
        .bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("ws://{}", server.local_addr().expect("an address"));
    let client = Client::connect(&url).await.expect("connects");
    let auction = AuctionClient::new(client.peer());

    let calls = async {
        assert_eq!(auction.highest(1).await?, Ok(None));
        assert_eq!(auction.bid(1, 100).await?, Ok(100));
        assert_eq!(
            auction.bid(1, 90).await?,
            Err(BidError::TooLow { highest: 100 })
        );
        assert_eq!(auction.bid(7, 1).await?, Err(BidError::NoSuchLot(7)));

        // The highest bid first, then the new ones.
        let mut watch = auction.watch(1).await?;
        assert_eq!(watch.next().await.transpose()?, Some(100));
        assert_eq!(auction.bid(1, 120).await?, Ok(120));
        assert_eq!(watch.next().await.transpose()?, Some(120));
        assert_eq!(auction.highest(1).await?, Ok(Some(120)));
        Ok::<_, Box<dyn std::error::Error>>(())
    };
    tokio::time::timeout(Duration::from_secs(5), calls)
        .await
        .expect("the calls finish within 5 s")
        .expect("the calls succeed");

    client.close().await;
    server.shutdown().await;
}
