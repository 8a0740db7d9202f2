//! Large messages: split into fragments on the way out, reassembled on the
//! way in, so that one 50 MiB transfer does not hold the socket while small
//! calls and pushes wait behind it.
//!
//! Sending: a frame longer than the fragment size goes through the bulk
//! lane, a tiny channel of which the writer takes one fragment per round,
//! after high-priority pushes and normal frames. The sender waits until the
//! writer has taken its last fragment before it returns, so whatever it
//! sends next cannot overtake the large message (stream items keep their
//! order).
//!
//! Receiving: fragments are collected per message id within a size budget
//! and a deadline; the whole message is then handled like any other.

use std::{collections::HashMap, time::Duration};

use bytes::{Bytes, BytesMut};
use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

use crate::{
    codec,
    error::CloseReason,
    protocol::{Fragment, Frame, close_code},
};

/// Fragments queued for the writer at most; the lane is a conveyor belt,
/// not a buffer.
pub(crate) const LANE_DEPTH: usize = 2;

/// One fragment on the bulk lane; the last one carries a signal for the
/// sender.
#[derive(Debug)]
pub(crate) struct Piece {
    pub(crate) bytes: Bytes,
    pub(crate) taken: Option<oneshot::Sender<()>>,
}

impl Piece {
    /// Hands the bytes to the writer, telling the sender if it was the last.
    pub(crate) fn take(self) -> Bytes {
        if let Some(taken) = self.taken {
            let _ = taken.send(());
        }
        self.bytes
    }
}

/// Splits `frame` into fragments of at most `size` bytes and feeds them to
/// the lane; returns once the writer has taken the last one.
pub(crate) async fn send_in_pieces(
    lane: &mpsc::Sender<Piece>,
    message: u64,
    frame: &Bytes,
    size: usize,
) -> Result<(), ()> {
    let mut chunks = frame.chunks(size).peekable();
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        let header = Frame::Fragment(Fragment { message, last });
        let bytes = codec::encode_raw(&header, chunk).map_err(|_| ())?;
        let (taken, taken_rx) = if last {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        lane.send(Piece { bytes, taken }).await.map_err(|_| ())?;
        if let Some(rx) = taken_rx {
            rx.await.map_err(|_| ())?;
        }
    }
    Ok(())
}

#[derive(Debug)]
struct Partial {
    bytes: BytesMut,
    started: Instant,
}

/// The reader's table of messages in pieces.
#[derive(Debug)]
pub(crate) struct Reassembly {
    partial: HashMap<u64, Partial>,
    buffered: usize,
    max_message: usize,
    max_total: usize,
    timeout: Duration,
}

impl Reassembly {
    pub(crate) fn new(max_message: usize, max_total: usize, timeout: Duration) -> Self {
        Self {
            partial: HashMap::new(),
            buffered: 0,
            max_message,
            max_total,
            timeout,
        }
    }

    /// Adds a piece; returns the whole message when `last` completes it.
    pub(crate) fn add(
        &mut self,
        message: u64,
        last: bool,
        piece: &[u8],
    ) -> Result<Option<Bytes>, CloseReason> {
        let now = Instant::now();
        let partial = self.partial.entry(message).or_insert_with(|| Partial {
            bytes: BytesMut::new(),
            started: now,
        });
        let size = partial.bytes.len() + piece.len();
        if size > self.max_message {
            return Err(CloseReason::local(
                close_code::TOO_BIG,
                format!(
                    "fragmented message of over {size} bytes exceeds the limit of {} bytes",
                    self.max_message
                ),
            ));
        }
        if self.buffered + piece.len() > self.max_total {
            return Err(CloseReason::local(
                close_code::TOO_BIG,
                format!(
                    "more than {} bytes of fragmented messages in transit",
                    self.max_total
                ),
            ));
        }
        partial.bytes.extend_from_slice(piece);
        self.buffered += piece.len();
        if !last {
            return Ok(None);
        }
        let whole = self
            .partial
            .remove(&message)
            .map(|p| p.bytes.freeze())
            .unwrap_or_default();
        self.buffered -= whole.len();
        Ok(Some(whole))
    }

    /// When the oldest incomplete message runs out of time, if any is pending.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.partial
            .values()
            .map(|p| p.started + self.timeout)
            .min()
    }

    /// The error for a message that missed its deadline.
    pub(crate) fn expired(&self) -> CloseReason {
        CloseReason::local(
            close_code::POLICY,
            format!("fragmented message incomplete after {:?}", self.timeout),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_joined_per_message_within_the_limits() {
        let mut reassembly = Reassembly::new(10, 15, Duration::from_secs(1));
        assert_eq!(reassembly.add(1, false, b"abc").unwrap(), None);
        assert_eq!(reassembly.add(2, false, b"xy").unwrap(), None);
        assert_eq!(
            reassembly.add(1, true, b"def").unwrap().unwrap(),
            &b"abcdef"[..]
        );
        assert!(
            reassembly.deadline().is_some(),
            "message 2 is still pending"
        );
        let err = reassembly.add(2, false, b"0123456789").unwrap_err();
        assert_eq!(err.code, close_code::TOO_BIG);
    }

    #[test]
    fn the_total_in_transit_is_bounded() {
        let mut reassembly = Reassembly::new(10, 15, Duration::from_secs(1));
        for message in 0..3 {
            reassembly.add(message, false, b"12345").unwrap();
        }
        let err = reassembly.add(4, false, b"1").unwrap_err();
        assert!(err.reason.contains("in transit"), "{}", err.reason);
    }
}
