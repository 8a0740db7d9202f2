//! The auction's API: the trait a server implements and a client calls,
//! and the types its methods take. It depends on `rpc` and `serde` only, so
//! the server and the client each compile it and none of the other's code.
//!
//! `#[rpc::service]` generates, beside the trait, [`AuctionClient`] (the
//! client's stub) and [`AuctionRouter`] (which serves any implementation).

use std::fmt;

use rpc::stub::Stream;
use serde::{Deserialize, Serialize};

/// Why a bid is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, rpc::Schema)]
pub enum BidError {
    /// No lot has this number.
    NoSuchLot(u32),
    /// The bid does not beat the highest one.
    TooLow {
        /// The highest bid so far.
        highest: u64,
    },
}

impl fmt::Display for BidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BidError::NoSuchLot(lot) => write!(f, "there is no lot {lot}"),
            BidError::TooLow { highest } => write!(f, "the highest bid is already {highest}"),
        }
    }
}

/// An auction house: numbered lots, each with its highest bid.
#[rpc::service]
pub trait Auction {
    /// Bids `amount` on `lot`; returns the new highest bid.
    #[rpc::call(timeout = "2s")]
    async fn bid(&self, lot: u32, amount: u64) -> Result<u64, BidError>;

    /// The highest bid on `lot`, if there is one.
    #[rpc::call]
    async fn highest(&self, lot: u32) -> Result<Option<u64>, BidError>;

    /// The highest bid on `lot` now, if there is one, then every new
    /// highest bid as it is made; nothing for an unknown lot.
    #[rpc::stream]
    fn watch(&self, lot: u32) -> impl Stream<Item = u64>;
}
