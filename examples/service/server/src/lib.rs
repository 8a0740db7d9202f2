//! The auction server: [`House`] implements the [`Auction`] trait of the
//! API crate, and [`router`] makes it something to mount. Nothing here
//! names the client stub.

use std::{collections::HashMap, sync::Mutex};

use auction_api::{Auction, AuctionRouter, BidError};
use futures_util::{Stream, StreamExt, stream};
use tokio::sync::broadcast;

/// Lots numbered from 1, with their bids.
#[derive(Debug)]
pub struct House {
    lots: Mutex<HashMap<u32, Lot>>,
}

#[derive(Debug)]
struct Lot {
    highest: Option<u64>,
    /// Every new highest bid, for `watch`.
    bids: broadcast::Sender<u64>,
}

impl House {
    /// A house with lots `1..=lots` and no bids.
    pub fn new(lots: u32) -> Self {
        let lots = (1..=lots)
            .map(|lot| {
                let lot_state = Lot {
                    highest: None,
                    bids: broadcast::channel(16).0,
                };
                (lot, lot_state)
            })
            .collect();
        Self {
            lots: Mutex::new(lots),
        }
    }

    fn lots(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Lot>> {
        self.lots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

// The implementation writes `async fn`s; the trait asks for `Send`
// futures, which these are.
impl Auction for House {
    async fn bid(&self, lot: u32, amount: u64) -> Result<u64, BidError> {
        let mut lots = self.lots();
        let state = lots.get_mut(&lot).ok_or(BidError::NoSuchLot(lot))?;
        if let Some(highest) = state.highest.filter(|highest| amount <= *highest) {
            return Err(BidError::TooLow { highest });
        }
        state.highest = Some(amount);
        // No watcher is not an error.
        let _ = state.bids.send(amount);
        Ok(amount)
    }

    async fn highest(&self, lot: u32) -> Result<Option<u64>, BidError> {
        let lots = self.lots();
        let state = lots.get(&lot).ok_or(BidError::NoSuchLot(lot))?;
        Ok(state.highest)
    }

    fn watch(&self, lot: u32) -> impl Stream<Item = u64> {
        // Subscribed and read under one lock: no bid falls in between.
        let lots = self.lots();
        let (current, bids) = lots.get(&lot).map_or((None, None), |state| {
            (state.highest, Some(state.bids.subscribe()))
        });
        let later = stream::unfold(bids, |bids| async move {
            let mut bids = bids?;
            loop {
                match bids.recv().await {
                    Ok(bid) => return Some((bid, Some(bids))),
                    // A slow watcher misses bids, never the latest.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        stream::iter(current).chain(later)
    }
}

/// The router to mount: a house with lots `1..=lots`.
pub fn router(lots: u32) -> AuctionRouter<House> {
    AuctionRouter::new(House::new(lots))
}
