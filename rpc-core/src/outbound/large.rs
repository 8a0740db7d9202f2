//! Large messages on the way out: any message longer than the fragment size
//! is sent in pieces, one piece per writer round for each priority class,
//! interleaved with small messages so that one 50 MiB transfer does not
//! hold the socket.
//!
//! Once its first piece is written, a message is always finished by the
//! writer, even if its sender gave up: the receiver never holds a partial
//! that nobody completes. The writer keeps the messages it has started
//! within the receiver's announced reassembly limits (count and bytes), so a
//! well-behaved sender never crosses them; the others wait their turn
//! without holding back small messages.

use std::collections::VecDeque;

use bytes::Bytes;

use super::{Class, lane::Message};
use crate::{
    codec,
    protocol::{Fragment, Frame},
};

/// What the receiver holds at most while messages arrive in pieces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReassemblyLimits {
    pub(crate) max_partials: usize,
    pub(crate) max_bytes: usize,
}

#[derive(Debug)]
struct Started {
    id: u64,
    message: Message,
    sent: usize,
}

/// The writer's large messages: waiting to start, and started.
#[derive(Debug)]
pub(crate) struct Large {
    piece_size: usize,
    peer: ReassemblyLimits,
    waiting: [VecDeque<Message>; 3],
    started: [VecDeque<Started>; 3],
    started_count: usize,
    started_bytes: usize,
    next_id: u64,
}

/// One piece ready for the writer.
#[derive(Debug)]
pub(crate) struct Piece {
    pub(crate) bytes: Bytes,
    /// Budget to give back once the piece is flushed (the whole message's
    /// cost on its last piece, else nothing).
    pub(crate) release: usize,
}

impl Large {
    pub(crate) fn new(piece_size: usize, peer: ReassemblyLimits) -> Self {
        Self {
            piece_size: piece_size.max(1),
            peer,
            waiting: Default::default(),
            started: Default::default(),
            started_count: 0,
            started_bytes: 0,
            next_id: 0,
        }
    }

    pub(crate) fn is_large(&self, bytes: &Bytes) -> bool {
        bytes.len() > self.piece_size
    }

    pub(crate) fn add(&mut self, class: Class, message: Message) {
        self.waiting[class as usize].push_back(message);
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.started_count == 0 && self.waiting.iter().all(VecDeque::is_empty)
    }

    /// Starts waiting messages, highest class first, while the receiver's
    /// limits allow (one at a time always goes).
    fn start_waiting(&mut self) {
        for class in 0..3 {
            while let Some(next) = self.waiting[class].front() {
                let len = next.bytes.len();
                let fits = self.started_count < self.peer.max_partials
                    && self.started_bytes + len <= self.peer.max_bytes;
                if !fits && self.started_count > 0 {
                    return;
                }
                let message = self.waiting[class].pop_front().expect("front exists");
                self.started_count += 1;
                self.started_bytes += len;
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1);
                self.started[class].push_back(Started {
                    id,
                    message,
                    sent: 0,
                });
            }
        }
    }

    /// The next piece of class `class`, taking turns among its started
    /// messages.
    pub(crate) fn piece(&mut self, class: Class) -> Option<Piece> {
        self.start_waiting();
        let queue = &mut self.started[class as usize];
        let mut started = queue.pop_front()?;
        let total = started.message.bytes.len();
        let end = (started.sent + self.piece_size).min(total);
        let last = end == total;
        let header = Frame::Fragment(Fragment {
            message: started.id,
            last,
        });
        let chunk = &started.message.bytes[started.sent..end];
        let bytes = codec::encode_raw(&header, chunk).expect("a fragment header always encodes");
        started.sent = end;
        if !last {
            queue.push_back(started);
            return Some(Piece { bytes, release: 0 });
        }
        started.message.finish();
        self.started_count -= 1;
        self.started_bytes -= total;
        Some(Piece {
            bytes,
            release: started.message.cost,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode;

    fn message(len: usize) -> Message {
        Message {
            bytes: Bytes::from(vec![7; len]),
            cost: len,
            done: None,
        }
    }

    fn fragment_of(piece: &Piece) -> (u64, bool, usize) {
        let decoded = decode(&piece.bytes, usize::MAX).unwrap();
        let Frame::Fragment(fragment) = decoded.frame else {
            panic!("not a fragment");
        };
        (fragment.message, fragment.last, decoded.payload.len())
    }

    #[test]
    fn pieces_take_turns_and_the_last_releases_the_message() {
        let limits = ReassemblyLimits {
            max_partials: 8,
            max_bytes: 1000,
        };
        let mut large = Large::new(4, limits);
        large.add(Class::Normal, message(6));
        large.add(Class::Normal, message(5));
        let pieces: Vec<_> = std::iter::from_fn(|| large.piece(Class::Normal)).collect();
        let seen: Vec<_> = pieces.iter().map(fragment_of).collect();
        assert_eq!(
            seen,
            [(0, false, 4), (1, false, 4), (0, true, 2), (1, true, 1)]
        );
        let released: Vec<_> = pieces.iter().map(|p| p.release).collect();
        assert_eq!(released, [0, 0, 6, 5]);
        assert!(large.is_idle());
    }

    #[test]
    fn the_receivers_limits_hold_back_later_messages() {
        let limits = ReassemblyLimits {
            max_partials: 1,
            max_bytes: 1000,
        };
        let mut large = Large::new(4, limits);
        large.add(Class::Normal, message(8));
        large.add(Class::Normal, message(8));
        let ids: Vec<_> = std::iter::from_fn(|| large.piece(Class::Normal))
            .map(|p| fragment_of(&p).0)
            .collect();
        assert_eq!(ids, [0, 0, 1, 1], "one message in transit at a time");

        let limits = ReassemblyLimits {
            max_partials: 8,
            max_bytes: 10,
        };
        let mut large = Large::new(4, limits);
        large.add(Class::Low, message(8));
        large.add(Class::Low, message(8));
        let ids: Vec<_> = std::iter::from_fn(|| large.piece(Class::Low))
            .map(|p| fragment_of(&p).0)
            .collect();
        assert_eq!(ids, [0, 0, 1, 1], "16 bytes would pass the 10-byte budget");
    }

    #[test]
    fn a_started_message_finishes_though_its_sender_is_gone() {
        let limits = ReassemblyLimits {
            max_partials: 8,
            max_bytes: 1000,
        };
        let mut large = Large::new(4, limits);
        let (done, done_rx) = tokio::sync::oneshot::channel();
        drop(done_rx);
        let mut dropped = message(8);
        dropped.done = Some(done);
        large.add(Class::High, dropped);
        assert!(large.piece(Class::Normal).is_none());
        assert!(!fragment_of(&large.piece(Class::High).unwrap()).1);
        assert!(fragment_of(&large.piece(Class::High).unwrap()).1);
    }
}
