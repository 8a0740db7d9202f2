//! `#[rpc::service]` end to end over real sockets on 127.0.0.1: a trait
//! declared in one module (the API a client and a server share), implemented
//! in another, served through the generated `AuctionRouter` and called
//! through `AuctionClient`: calls with typed errors, a cast with the
//! session, `self: Arc<Self>`, server and client streams, and the metadata,
//! which is what the impl-block form gives for the same methods.

mod common;

use std::{sync::Arc, time::Duration};

use common::within;
use futures_util::{StreamExt, stream};
use rpc::{Client, MethodKind, RouterInfo, Server};
use tokio::sync::mpsc;

/// What an API crate holds: the trait and the types its methods take.
mod api {
    use futures_util::Stream;
    use serde::{Deserialize, Serialize};

    /// Why a bid is refused.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rpc::Schema)]
    pub(crate) enum BidError {
        /// No lot has this number.
        NoSuchLot(u32),
        /// The bid is not above the highest one.
        TooLow { highest: u64 },
    }

    impl std::fmt::Display for BidError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                BidError::NoSuchLot(lot) => write!(f, "no lot {lot}"),
                BidError::TooLow { highest } => write!(f, "the highest bid is {highest}"),
            }
        }
    }

    /// Lots and bids.
    #[rpc::service]
    pub(crate) trait Auction {
        /// Bids `amount` on `lot`; returns the new highest bid.
        #[rpc::call(timeout = "2s")]
        async fn bid(&self, lot: u32, amount: u64) -> Result<u64, BidError>;

        /// The highest bid on `lot`, if any.
        #[rpc::call(name = "auction.highest")]
        async fn highest(self: std::sync::Arc<Self>, lot: u32) -> Option<u64>;

        /// Leaves a note for the auctioneer.
        #[rpc::cast]
        async fn note(&self, session: &rpc::Session, text: String);

        /// The bids on `lot` so far, lowest first.
        #[rpc::stream]
        fn bids(&self, lot: u32) -> impl Stream<Item = u64>;

        /// Bids on many lots at once; returns how many were accepted.
        #[rpc::stream]
        async fn bulk(&self, bids: rpc::Incoming<(u32, u64)>) -> u32;
    }
}

/// What the server crate holds: an implementation, knowing nothing of the
/// stub.
mod server {
    use std::sync::{Arc, Mutex};

    use futures_util::{Stream, StreamExt, stream};
    use tokio::sync::mpsc;

    use crate::api::{Auction, BidError};

    /// Lots 1 to 3, with their bids.
    pub(crate) struct House {
        pub(crate) bids: Mutex<Vec<Vec<u64>>>,
        pub(crate) notes: mpsc::UnboundedSender<(u64, String)>,
    }

    impl House {
        fn place(&self, lot: u32, amount: u64) -> Result<u64, BidError> {
            let mut bids = self.bids.lock().unwrap();
            let index = usize::try_from(lot).unwrap_or(usize::MAX).wrapping_sub(1);
            let lot_bids = bids.get_mut(index).ok_or(BidError::NoSuchLot(lot))?;
            let highest = lot_bids.last().copied().unwrap_or(0);
            if amount <= highest {
                return Err(BidError::TooLow { highest });
            }
            lot_bids.push(amount);
            Ok(amount)
        }
    }

    impl Auction for House {
        async fn bid(&self, lot: u32, amount: u64) -> Result<u64, BidError> {
            self.place(lot, amount)
        }

        async fn highest(self: Arc<Self>, lot: u32) -> Option<u64> {
            // An `Arc` receiver can move the service into a task.
            let index = usize::try_from(lot).ok()?.checked_sub(1)?;
            tokio::spawn(async move { self.bids.lock().unwrap().get(index)?.last().copied() })
                .await
                .ok()
                .flatten()
        }

        async fn note(&self, session: &rpc::Session, text: String) {
            let _ = self.notes.send((session.id(), text));
        }

        fn bids(&self, lot: u32) -> impl Stream<Item = u64> {
            let index = usize::try_from(lot).unwrap_or(usize::MAX).wrapping_sub(1);
            let bids = self.bids.lock().unwrap().get(index).cloned();
            stream::iter(bids.unwrap_or_default())
        }

        async fn bulk(&self, bids: rpc::Incoming<(u32, u64)>) -> u32 {
            bids.filter_map(|bid| async move { bid.ok() })
                .fold(0, |accepted, (lot, amount)| async move {
                    accepted + u32::from(self.place(lot, amount).is_ok())
                })
                .await
        }
    }
}

/// The same methods as an impl block, for the metadata comparison.
mod sugar {
    use futures_util::{Stream, stream};

    use crate::api::BidError;

    pub(crate) struct Auction;

    /// Lots and bids.
    #[rpc::router]
    #[allow(clippy::unused_self, reason = "the methods mirror the service's")]
    impl Auction {
        /// Bids `amount` on `lot`; returns the new highest bid.
        #[rpc::call(timeout = "2s")]
        async fn bid(&self, lot: u32, amount: u64) -> Result<u64, BidError> {
            let _ = lot;
            Ok(amount)
        }

        /// The highest bid on `lot`, if any.
        #[rpc::call(name = "auction.highest")]
        async fn highest(self: std::sync::Arc<Self>, lot: u32) -> Option<u64> {
            let _ = lot;
            None
        }

        /// Leaves a note for the auctioneer.
        #[rpc::cast]
        async fn note(&self, session: &rpc::Session, text: String) {
            let _ = (session, text);
        }

        /// The bids on `lot` so far, lowest first.
        #[rpc::stream]
        fn bids(&self, lot: u32) -> impl Stream<Item = u64> {
            let _ = lot;
            stream::empty()
        }

        /// Bids on many lots at once; returns how many were accepted.
        #[rpc::stream]
        async fn bulk(&self, bids: rpc::Incoming<(u32, u64)>) -> u32 {
            drop(bids);
            0
        }
    }
}

use api::{AuctionClient, AuctionRouter, BidError};

struct Setup {
    server: Server,
    client: Client,
    house: Arc<server::House>,
    notes: mpsc::UnboundedReceiver<(u64, String)>,
}

async fn setup() -> Setup {
    let (notes_tx, notes) = mpsc::unbounded_channel();
    let house = Arc::new(server::House {
        bids: std::sync::Mutex::new(vec![Vec::new(); 3]),
        notes: notes_tx,
    });
    let server = Server::builder()
        .mount(AuctionRouter::from_arc(Arc::clone(&house)))
        .bind("127.0.0.1:0")
        .await
        .expect("server binds");
    let client = common::connect(&server).await;
    Setup {
        server,
        client,
        house,
        notes,
    }
}

#[tokio::test]
async fn calls_answer_with_typed_errors() {
    let setup = setup().await;
    let auction = AuctionClient::new(setup.client.peer());
    within("the calls", async {
        assert_eq!(auction.bid(1, 10).await.unwrap(), Ok(10));
        assert_eq!(
            auction.bid(1, 5).await.unwrap(),
            Err(BidError::TooLow { highest: 10 })
        );
        assert_eq!(
            auction.bid(9, 5).await.unwrap(),
            Err(BidError::NoSuchLot(9))
        );
        assert_eq!(auction.highest(1).await.unwrap(), Some(10));
        assert_eq!(auction.highest(2).await.unwrap(), None);
    })
    .await;
    assert_eq!(
        *setup.house.bids.lock().unwrap(),
        [vec![10], vec![], vec![]]
    );
    setup.client.close().await;
    setup.server.shutdown().await;
}

#[tokio::test]
async fn a_cast_reaches_the_implementation_with_its_session() {
    let mut setup = setup().await;
    AuctionClient::new(setup.client.peer())
        .note("going once".to_owned())
        .await
        .expect("queued");
    let (session, text) = within("the note", setup.notes.recv())
        .await
        .expect("a note");
    assert_eq!(text, "going once");
    assert_eq!(session, setup.client.session().id());
    setup.client.close().await;
    setup.server.shutdown().await;
}

#[tokio::test]
async fn streams_flow_both_ways() {
    let setup = setup().await;
    let auction = AuctionClient::new(setup.client.peer());
    within("the streams", async {
        let accepted = auction
            .bulk(stream::iter([(2, 5), (2, 7), (2, 6), (4, 1)]))
            .await
            .unwrap();
        assert_eq!(accepted, 2);
        let bids: Vec<u64> = auction
            .bids(2)
            .await
            .unwrap()
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(bids, [5, 7]);
    })
    .await;
    setup.client.close().await;
    setup.server.shutdown().await;
}

/// What a peer serving `router` says it serves.
async fn discovered(router: impl rpc::Router) -> RouterInfo {
    let server = Server::builder()
        .mount(router)
        .bind("127.0.0.1:0")
        .await
        .expect("server binds");
    let client = common::connect(&server).await;
    let mut routers = within("discover", client.peer().discover()).await.unwrap();
    client.close().await;
    server.shutdown().await;
    assert_eq!(routers.len(), 1);
    routers.remove(0)
}

#[tokio::test]
async fn the_metadata_is_the_impl_forms() {
    let (notes, _) = mpsc::unbounded_channel();
    let house = server::House {
        bids: std::sync::Mutex::new(Vec::new()),
        notes,
    };
    let service = discovered(AuctionRouter::new(house)).await;
    let sugar = discovered(sugar::Auction).await;
    assert_eq!(service, sugar);

    assert_eq!(
        (service.name.as_ref(), service.docs.as_ref()),
        ("Auction", "Lots and bids.")
    );
    let kinds: Vec<(&str, MethodKind)> = service
        .methods
        .iter()
        .map(|method| (method.name.as_ref(), method.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("bid", MethodKind::Call),
            ("auction.highest", MethodKind::Call),
            ("note", MethodKind::Cast),
            ("bids", MethodKind::Stream),
            ("bulk", MethodKind::Stream),
        ]
    );
    let bid = &service.methods[0];
    assert_eq!(bid.returns, "Result<u64, BidError>");
    assert_eq!(bid.timeout_ms, Some(2000));
    assert_eq!(
        bid.docs,
        "Bids `amount` on `lot`; returns the new highest bid."
    );
    let registered = rpc::routers().filter(|info| info.name == "Auction").count();
    assert_eq!(
        registered, 2,
        "the service and the impl block are both listed"
    );
}

#[tokio::test]
async fn one_implementation_serves_two_servers() {
    let setup = setup().await;
    let router = AuctionRouter::from_arc(Arc::clone(&setup.house));
    assert_eq!(format!("{router:?}"), "AuctionRouter { .. }");
    let second = Server::builder()
        .mount(router.clone())
        .bind("127.0.0.1:0")
        .await
        .expect("binds");
    let other = common::connect(&second).await;
    within("the calls", async {
        AuctionClient::new(setup.client.peer())
            .bid(3, 1)
            .await
            .unwrap()
            .unwrap();
        let highest = AuctionClient::new(other.peer()).highest(3).await.unwrap();
        assert_eq!(highest, Some(1), "both servers share the house");
    })
    .await;
    assert!(Arc::ptr_eq(router.service(), &setup.house));
    tokio::time::timeout(Duration::from_secs(5), async {
        other.close().await;
        second.shutdown().await;
        setup.client.close().await;
        setup.server.shutdown().await;
    })
    .await
    .expect("everything closes");
}
