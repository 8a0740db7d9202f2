//! The outbound side of one session: everything waiting to be written to the
//! peer, in one place. The session's writer drains it; calls, answers, push
//! handles and the registry feed it.
//!
//! - Priority classes ([`Class`]): high-priority pushes, then calls, answers
//!   and stream frames, then low-priority pushes. Control frames (credit,
//!   cancel, ping) and refusals go before all of them.
//! - Byte budgets ([`Budget`]) over every class: a message holds its bytes
//!   from the moment it is queued until the writer has flushed it, so a
//!   peer that stops reading pins at most the budget. Small messages and
//!   large ones (sent in pieces) each have a budget of that size, so that a
//!   large transfer never starves small calls and answers. Senders that may
//!   wait (calls, stream items, waiting pushes) wait for room; answers of
//!   finished handlers never wait: an answer that does not fit is replaced by
//!   a `busy` error, so finished handlers cannot pile up answers either.
//! - Refusals the reader sends (unknown method, busy, ...) use a small lane
//!   of their own, bounded in messages, so the reader never waits for room;
//!   a peer that overflows it is closed with 1008.
//! - Large messages go out in pieces ([`large`]), keeping their class.

mod budget;
pub(crate) mod control;
mod flagged;
mod lane;
pub(crate) mod large;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};

use bytes::Bytes;
use tokio::sync::{Notify, oneshot};

pub(crate) use budget::{Budget, ENTRY_OVERHEAD};
use control::Control;
use flagged::Flagged;
use lane::{Lane, Message};
use large::Large;

use crate::{signal::Signal, waiting::Waiting};

/// The priority classes the writer serves, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// High-priority pushes.
    High = 0,
    /// Calls, casts, answers, stream frames.
    Normal = 1,
    /// Low-priority pushes.
    Low = 2,
}

/// Limits of the outbound side, from the session's config and the peer's
/// handshake.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) budget: usize,
    /// Messages per push class.
    pub(crate) push_queue: usize,
    /// Refusals waiting at most.
    pub(crate) refusals: usize,
    /// Largest message the peer accepts.
    pub(crate) peer_max_message: usize,
    /// Messages longer than this go out in pieces.
    pub(crate) fragment_size: usize,
}

/// No room now (budget or class full); the message is handed back.
#[derive(Debug)]
pub(crate) struct Full(pub(crate) Bytes);

/// The writer dropped a queued message: the session ended.
#[derive(Debug)]
pub(crate) struct Stopped;

/// A message larger than the peer accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TooLarge {
    pub(crate) size: usize,
    pub(crate) max: usize,
}

impl From<TooLarge> for crate::error::Error {
    fn from(too_large: TooLarge) -> Self {
        crate::error::Error::TooLarge {
            size: too_large.size,
            max: too_large.max,
        }
    }
}

impl TooLarge {
    /// The error message a handler's oversized answer becomes.
    pub(crate) fn message(self) -> String {
        format!(
            "the answer of {} bytes exceeds the caller's message size limit of {} bytes",
            self.size, self.max
        )
    }
}

/// What a drop-oldest send did: the messages it evicted, and whether the new
/// one was queued (it is handed back if even evicting made no room).
#[derive(Debug)]
pub(crate) struct Evicting {
    pub(crate) evicted: Vec<Bytes>,
    pub(crate) queued: Result<(), Bytes>,
}

/// The refusal lane overflowed: the peer sends requests it will not read
/// the answers of.
#[derive(Debug)]
pub(crate) struct Overflow;

#[derive(Debug)]
pub(crate) struct Outbound {
    limits: Limits,
    /// Bytes of messages sent whole.
    small: Budget,
    /// Bytes of messages sent in pieces.
    large: Budget,
    pub(crate) control: Control,
    refusals: Flagged<Vec<Bytes>>,
    lanes: [Lane; 3],
    /// Rung when anything is queued; the writer waits on this one bell.
    doorbell: std::sync::Arc<Signal>,
    /// Rung when the writer frees room; waiting senders retry.
    room: Notify,
    /// Senders waiting for room: a flush wakes them only when there are
    /// some, since `notify_waiters` takes the `Notify`'s lock every time.
    room_waiters: AtomicUsize,
    /// Set while the reader handles a burst of messages: it writes what
    /// was queued meanwhile at the burst's end, so senders need not ring
    /// the writer (see [`Self::burst_ends`]).
    in_burst: AtomicBool,
}

impl Outbound {
    pub(crate) fn new(limits: Limits) -> Self {
        let doorbell = std::sync::Arc::new(Signal::default());
        Self {
            limits,
            small: Budget::new(limits.budget),
            large: Budget::new(limits.budget),
            control: Control::new(std::sync::Arc::clone(&doorbell)),
            refusals: Flagged::default(),
            lanes: [
                Lane::new(limits.push_queue),
                Lane::new(usize::MAX),
                Lane::new(limits.push_queue),
            ],
            doorbell,
            room: Notify::new(),
            room_waiters: AtomicUsize::new(0),
            in_burst: AtomicBool::new(false),
        }
    }

    /// Refuses a message the peer would refuse: sending it would only make
    /// the peer close the session (1009), failing everything in flight.
    pub(crate) fn fits(&self, message: &Bytes) -> Result<(), TooLarge> {
        if message.len() <= self.limits.peer_max_message {
            Ok(())
        } else {
            Err(TooLarge {
                size: message.len(),
                max: self.limits.peer_max_message,
            })
        }
    }

    pub(crate) fn peer_max_message(&self) -> usize {
        self.limits.peer_max_message
    }

    fn lane(&self, class: Class) -> &Lane {
        &self.lanes[class as usize]
    }

    /// Whether `message` goes whole, not in pieces.
    pub(crate) fn goes_whole(&self, message: &Bytes) -> bool {
        message.len() <= self.limits.fragment_size
    }

    fn budget(&self, message: &Bytes) -> &Budget {
        if self.goes_whole(message) {
            &self.small
        } else {
            &self.large
        }
    }

    /// Queues `bytes` if its class and the budget have room.
    pub(crate) fn try_send(&self, class: Class, bytes: Bytes) -> Result<(), Full> {
        self.try_queue(class, Message::new(bytes, None))
            .map_err(|message| Full(message.bytes))
    }

    /// Queues a message small enough to go whole without ringing the
    /// writer: the calling task writes it next, or rings.
    pub(crate) fn try_send_unrung(&self, bytes: Bytes) -> Result<(), Full> {
        self.push(Class::Normal, Message::new(bytes, None))
            .map_err(|message| Full(message.bytes))
    }

    fn try_queue(&self, class: Class, message: Message) -> Result<(), Message> {
        let whole = self.goes_whole(&message.bytes);
        self.push(class, message)?;
        // Either the reader's gather at the burst's end sees the message,
        // or this sees the burst ended (SeqCst fences on both sides), and
        // a budget half full (or a message in pieces, which takes rounds
        // of its own) is written without waiting for the burst.
        fence(Ordering::SeqCst);
        if !whole || !self.in_burst.load(Ordering::Relaxed) || self.small.over_half() {
            self.ring();
        }
        Ok(())
    }

    fn push(&self, class: Class, message: Message) -> Result<(), Message> {
        let mut lane = self.lane(class).lock();
        if lane.is_full() || !self.budget(&message.bytes).try_take(message.cost) {
            return Err(message);
        }
        lane.push(message);
        Ok(())
    }

    /// Whether anything waits to be gathered (lock-free). Pieces of a large
    /// message left by the last round are the writer's to send, not counted.
    pub(crate) fn has_queued(&self) -> bool {
        !self.control.is_empty()
            || self.refusals.is_flagged()
            || self.lanes.iter().any(|lane| !lane.is_empty())
    }

    /// Rings the writer: something is queued that nobody else will write.
    pub(crate) fn ring(&self) {
        self.doorbell.raise();
    }

    /// The reader got a message after waiting: what is queued until
    /// [`Self::burst_ends`] is written then, without ringing the writer.
    pub(crate) fn burst_begins(&self) {
        self.in_burst.store(true, Ordering::Relaxed);
    }

    /// The reader has no message left to handle; it writes (or rings the
    /// writer for) everything queued right after this.
    pub(crate) fn burst_ends(&self) {
        self.in_burst.store(false, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// Queues `bytes`, waiting for room; a large message returns once the
    /// writer has taken its last piece, so whatever the caller sends next
    /// comes after it. Cancel-safe: dropped before it is queued, the message
    /// is dropped; dropped after, it is still sent whole.
    pub(crate) async fn send(&self, class: Class, bytes: Bytes) -> Result<(), Stopped> {
        let (done, taken) = if self.goes_whole(&bytes) {
            (None, None)
        } else {
            let (done, taken) = oneshot::channel();
            (Some(done), Some(taken))
        };
        let message = Message::new(bytes, done);
        if let Err(message) = self.try_queue(class, message) {
            let (_waiting, _) = Waiting::join(&self.room_waiters);
            // Pairs with the fence in `flushed`: either that flush sees this
            // sender waiting, or this sender's next try sees the room it
            // freed.
            fence(Ordering::SeqCst);
            self.wait_for_room(class, message).await;
        }
        match taken {
            Some(taken) => taken.await.map_err(|_| Stopped),
            None => Ok(()),
        }
    }

    /// Queues `message` once the writer has freed room for it.
    async fn wait_for_room(&self, class: Class, mut message: Message) {
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            // Registered before trying, so room freed in between is seen.
            room.as_mut().enable();
            match self.try_queue(class, message) {
                Ok(()) => break,
                Err(back) => message = back,
            }
            room.await;
        }
    }

    /// Queues `bytes`, evicting the oldest messages of its class until it
    /// fits. Messages whose senders still wait for them are never evicted.
    pub(crate) fn send_evicting(&self, class: Class, bytes: Bytes) -> Evicting {
        let cost = bytes.len() + ENTRY_OVERHEAD;
        let mut evicted = Vec::new();
        let queued = {
            let mut lane = self.lane(class).lock();
            loop {
                if !lane.is_full() && self.budget(&bytes).try_take(cost) {
                    lane.push(Message::new(bytes, None));
                    break Ok(());
                }
                let Some(oldest) = lane.evict() else {
                    break Err(bytes);
                };
                self.budget(&oldest.bytes).release(oldest.cost);
                evicted.push(oldest.bytes);
            }
        };
        if queued.is_ok() {
            self.ring();
        }
        Evicting { evicted, queued }
    }

    /// Queues a refusal without waiting.
    pub(crate) fn refuse(&self, bytes: Bytes) -> Result<(), Overflow> {
        self.refusals.write(|refusals| {
            if refusals.len() >= self.limits.refusals {
                return Err(Overflow);
            }
            refusals.push(bytes);
            Ok(())
        })?;
        self.ring();
        Ok(())
    }

    /// Waits until something may be queued (a stored ring can make a round
    /// find nothing, which is harmless).
    pub(crate) async fn rung(&self) {
        self.doorbell.take().await;
    }

    /// Gives back the budget of a flushed round and wakes waiting senders.
    pub(crate) fn flushed(&self, release: &mut Release) {
        self.small.release(std::mem::take(&mut release.small));
        self.large.release(std::mem::take(&mut release.large));
        self.wake_room_waiters();
    }

    /// Wakes the senders waiting for room, if any: `notify_waiters` takes
    /// the `Notify`'s lock every time.
    fn wake_room_waiters(&self) {
        fence(Ordering::SeqCst);
        if self.room_waiters.load(Ordering::SeqCst) > 0 {
            self.room.notify_waiters();
        }
    }
}

/// Most messages written between two flushes.
pub(crate) const BATCH: usize = 128;

/// Most bytes gathered for one flush, past the first message of a class.
const BATCH_BYTES: usize = 256 << 10;

/// The writer's side: its large messages and one round's gathering.
#[derive(Debug)]
pub(crate) struct Drain {
    large: Large,
    taken: Vec<Message>,
}

/// Budget to give back once a round is flushed.
#[derive(Debug, Default)]
pub(crate) struct Release {
    small: usize,
    large: usize,
}

/// What one writer round writes.
#[derive(Debug, Default)]
pub(crate) struct Round {
    pub(crate) messages: Vec<Bytes>,
    pub(crate) release: Release,
    /// Whether a ping goes out this round.
    pub(crate) ping: bool,
}

impl Drain {
    pub(crate) fn new(large: Large) -> Self {
        Self {
            large,
            taken: Vec::with_capacity(BATCH),
        }
    }

    /// Gathers one round, in the writer's order: credits, refusals, then
    /// each class's small messages followed by one piece of its large ones,
    /// with cancels right after the normal class (after the calls they may
    /// cancel).
    pub(crate) fn gather(&mut self, outbound: &Outbound, round: &mut Round) {
        round.ping |= outbound.control.take_ping();
        let mut cancels = Vec::new();
        outbound
            .control
            .drain_into(&mut round.messages, &mut cancels);
        if let Some(mut refusals) = outbound.refusals.take() {
            round.messages.append(&mut refusals);
        }
        let mut freed = false;
        for class in [Class::High, Class::Normal, Class::Low] {
            let room = BATCH.saturating_sub(round.messages.len());
            outbound
                .lane(class)
                .take(&mut self.taken, room, BATCH_BYTES);
            // Most classes are empty in most rounds: not even a drain.
            if !self.taken.is_empty() {
                freed = true;
                for mut message in self.taken.drain(..) {
                    if self.large.is_large(&message.bytes) {
                        self.large.add(class, message);
                    } else {
                        message.finish();
                        round.release.small += message.cost;
                        round.messages.push(message.bytes);
                    }
                }
            }
            // Most rounds have no large message at all.
            if !self.large.is_idle()
                && let Some(piece) = self.large.piece(class)
            {
                round.release.large += piece.release;
                round.messages.push(piece.bytes);
            }
            if class == Class::Normal {
                round.messages.append(&mut cancels);
            }
        }
        if freed {
            // Room in a class: waiting pushers may go (the budget is given
            // back only after the flush).
            outbound.wake_room_waiters();
        }
    }

    /// Whether anything is left for another round: the bell rings once per
    /// wait, not once per message, so the writer must not wait while any is.
    pub(crate) fn more(&self, outbound: &Outbound) -> bool {
        !self.large.is_idle() || outbound.lanes.iter().any(|lane| !lane.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{codec, protocol::Frame};

    fn outbound(fragment_size: usize) -> (Outbound, Drain) {
        let limits = Limits {
            budget: 1 << 20,
            push_queue: 8,
            refusals: 4,
            peer_max_message: 1 << 20,
            fragment_size,
        };
        let peer = large::ReassemblyLimits {
            max_partials: 4,
            max_bytes: 1 << 20,
        };
        (
            Outbound::new(limits),
            Drain::new(Large::new(fragment_size, peer)),
        )
    }

    fn kinds(round: &Round) -> Vec<String> {
        round
            .messages
            .iter()
            .map(|bytes| match codec::decode(bytes, usize::MAX) {
                Ok(decoded) => decoded.frame.kind().to_owned(),
                Err(_) => format!("{} bytes", bytes.len()),
            })
            .collect()
    }

    #[test]
    fn a_round_serves_refusals_then_each_class_with_one_piece_of_its_large_messages() {
        let (outbound, mut drain) = outbound(16);
        outbound
            .try_send(Class::Low, Bytes::from_static(b"low"))
            .unwrap();
        outbound
            .try_send(Class::Normal, Bytes::from_static(b"normal"))
            .unwrap();
        outbound
            .try_send(Class::High, Bytes::from(vec![1; 40]))
            .unwrap();
        let refusal = codec::encode_raw(
            &Frame::Error(crate::protocol::ErrorFrame {
                id: 0,
                code: crate::protocol::ErrorCode::BUSY,
                message: "no",
            }),
            &[],
        )
        .unwrap();
        outbound.refuse(refusal).unwrap();
        let mut round = Round::default();
        drain.gather(&outbound, &mut round);
        assert_eq!(
            kinds(&round),
            ["error", "fragment", "6 bytes", "3 bytes"],
            "the high-priority push's first piece goes before normal and low messages"
        );
        assert!(drain.more(&outbound), "two pieces of the push are left");
    }

    #[test]
    fn during_a_burst_senders_leave_the_writing_to_the_reader_unless_the_budget_fills() {
        use futures_util::FutureExt;
        let rung = |outbound: &Outbound| outbound.rung().now_or_never().is_some();
        let (outbound, mut drain) = outbound(2048);
        let small = || Bytes::from(vec![0; 1000]);

        outbound.try_send(Class::Normal, small()).unwrap();
        assert!(rung(&outbound), "no burst: the writer is rung");
        outbound.try_send_unrung(small()).unwrap();
        assert!(!rung(&outbound), "the sender writes it itself");

        outbound.burst_begins();
        outbound.try_send(Class::Normal, small()).unwrap();
        assert!(!rung(&outbound), "the reader writes it at the burst's end");
        outbound
            .try_send(Class::Normal, Bytes::from(vec![0; 4096]))
            .unwrap();
        assert!(
            rung(&outbound),
            "a message in pieces takes the writer's rounds"
        );
        // Half the budget (1 MiB) and a little more.
        let mut rang_at = None;
        for n in 0..600 {
            outbound.try_send(Class::Normal, small()).unwrap();
            if rung(&outbound) {
                rang_at = Some(n);
                break;
            }
        }
        let rang_at = rang_at.expect("a budget half full rings the writer");
        assert!(
            (480..=500).contains(&rang_at),
            "rang after {rang_at} messages"
        );
        outbound.burst_ends();
        assert!(outbound.has_queued(), "the reader's write finds them");
        let mut round = Round::default();
        drain.gather(&outbound, &mut round);
        assert_eq!(round.messages.len(), BATCH, "a round takes {BATCH} at most");
    }

    #[test]
    fn the_refusal_lane_and_the_push_classes_are_bounded() {
        let (outbound, _drain) = outbound(1024);
        for _ in 0..4 {
            outbound.refuse(Bytes::from_static(b"x")).unwrap();
        }
        assert!(outbound.refuse(Bytes::from_static(b"x")).is_err());
        for _ in 0..8 {
            outbound
                .try_send(Class::Low, Bytes::from_static(b"push"))
                .unwrap();
        }
        assert!(matches!(
            outbound.try_send(Class::Low, Bytes::from_static(b"push")),
            Err(Full(_))
        ));
        let evicting = outbound.send_evicting(Class::Low, Bytes::from_static(b"new"));
        assert_eq!(evicting.evicted, [Bytes::from_static(b"push")]);
        assert!(evicting.queued.is_ok());
    }

    #[tokio::test]
    async fn a_waiting_sender_goes_once_a_flushed_round_frees_the_budget() {
        let (outbound, mut drain) = outbound(1 << 10);
        let outbound = std::sync::Arc::new(outbound);
        // Fill the small budget to the byte: 1024 messages costing 1 KiB.
        for _ in 0..(1 << 10) {
            outbound
                .try_send(Class::Normal, Bytes::from(vec![0; 1024 - ENTRY_OVERHEAD]))
                .unwrap();
        }
        let waiting = tokio::spawn({
            let outbound = std::sync::Arc::clone(&outbound);
            async move {
                outbound
                    .send(Class::Normal, Bytes::from_static(b"late"))
                    .await
            }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the budget is full");
        let mut round = Round::default();
        drain.gather(&outbound, &mut round);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "gathered is not yet written");
        outbound.flushed(&mut round.release);
        waiting.await.unwrap().unwrap();
    }
}
