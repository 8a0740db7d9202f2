//! Control frames that must never be lost or wait for room in the budget:
//! stream credit, cancels and heartbeat pings. A caller that drops a stream, or a
//! consumer that frees room, cannot wait for queue space (they run in `Drop`
//! or `poll_next`), yet a lost credit stalls a stream forever and a lost
//! cancel leaves a handler running. So they go to this small side queue,
//! bounded by the number of live calls, and the writer sends them first.
//! Credits for the same stream coalesce.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use bytes::Bytes;

use super::flagged::Flagged;
use crate::{
    codec,
    protocol::{Cancel, Credit, Frame, Side},
    signal::Signal,
};

#[derive(Debug, Default)]
struct Pending {
    credits: Vec<(u64, Side, u32)>,
    cancels: Vec<u64>,
}

#[derive(Debug, Default)]
pub(crate) struct Control {
    pending: Flagged<Pending>,
    /// A WebSocket ping is due.
    ping: AtomicBool,
    /// The writer's bell, shared with the lanes.
    doorbell: Arc<Signal>,
}

impl Control {
    pub(crate) fn new(doorbell: Arc<Signal>) -> Self {
        Self {
            pending: Flagged::default(),
            ping: AtomicBool::new(false),
            doorbell,
        }
    }

    /// Grants the sender of stream `id`'s items (on side `to`) `items` more.
    pub(crate) fn credit(&self, id: u64, to: Side, items: u32) {
        self.pending.write(|pending| {
            match pending
                .credits
                .iter_mut()
                .find(|(i, s, _)| *i == id && *s == to)
            {
                Some((_, _, total)) => *total = total.saturating_add(items),
                None => pending.credits.push((id, to, items)),
            }
        });
        self.doorbell.raise();
    }

    /// Tells the peer to abandon call or stream `id`.
    pub(crate) fn cancel(&self, id: u64) {
        self.pending.write(|pending| pending.cancels.push(id));
        self.doorbell.raise();
    }

    /// Asks the writer to send a WebSocket ping.
    pub(crate) fn ping(&self) {
        self.ping.store(true, Ordering::Release);
        self.doorbell.raise();
    }

    /// Whether nothing is due: no ping, credit or cancel.
    pub(crate) fn is_empty(&self) -> bool {
        !self.ping.load(Ordering::Acquire) && !self.pending.is_flagged()
    }

    /// Whether a ping is due; clears the request.
    pub(crate) fn take_ping(&self) -> bool {
        self.ping.load(Ordering::Acquire) && self.ping.swap(false, Ordering::AcqRel)
    }

    /// Encodes every queued credit into `credits` and every cancel into
    /// `cancels`: the writer sends credits first and cancels after the
    /// round's calls, so that a cancel does not overtake the call it ends.
    pub(crate) fn drain_into(&self, credits: &mut Vec<Bytes>, cancels: &mut Vec<Bytes>) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        let encode = |frame: Frame<'_>| codec::encode(&frame).ok();
        credits.extend(
            pending
                .credits
                .into_iter()
                .filter_map(|(id, to, items)| encode(Frame::Credit(Credit { id, to, items }))),
        );
        cancels.extend(
            pending
                .cancels
                .into_iter()
                .filter_map(|id| encode(Frame::Cancel(Cancel { id }))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_for_one_stream_coalesce_and_cancels_follow() {
        let control = Control::default();
        control.credit(3, Side::Callee, 10);
        control.cancel(9);
        control.credit(3, Side::Callee, 5);
        control.credit(3, Side::Caller, 1);
        let mut batch = Vec::new();
        let mut cancels = Vec::new();
        control.drain_into(&mut batch, &mut cancels);
        batch.append(&mut cancels);
        let frames: Vec<_> = batch
            .iter()
            .map(|b| {
                codec::decode(b, usize::MAX)
                    .unwrap()
                    .frame
                    .clone_owned_kind()
            })
            .collect();
        assert_eq!(
            frames,
            ["credit 3 Callee 15", "credit 3 Caller 1", "cancel 9"]
        );
    }

    trait Describe {
        fn clone_owned_kind(&self) -> String;
    }

    impl Describe for Frame<'_> {
        fn clone_owned_kind(&self) -> String {
            match self {
                Frame::Credit(c) => format!("credit {} {:?} {}", c.id, c.to, c.items),
                Frame::Cancel(c) => format!("cancel {}", c.id),
                other => other.kind().to_owned(),
            }
        }
    }
}
