//! State of the streams of one session: those this side opened (it receives
//! their items and sends uploads under the peer's credit) and those the peer
//! opened (this side sends items under the peer's credit and may receive
//! uploads). The reader routes item, end and credit frames here.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use bytes::Bytes;
use tokio::sync::{Semaphore, mpsc};

use crate::{protocol::Side, stream::StreamError};

/// Credit beyond this many outstanding items is a peer's mistake or attack;
/// it also keeps `Semaphore::add_permits` far from its limit.
pub(crate) const MAX_CREDIT: usize = 1 << 24;

/// What the reader hands to the receiving end of a stream.
#[derive(Debug)]
pub(crate) enum Event {
    /// The callee's handler started answering ([`Frame::Accepted`](crate::protocol::Frame::Accepted)).
    Accepted,
    Item(Bytes),
    End,
    /// A streaming call answered with one value (client streaming).
    Reply(Bytes),
    Failed(StreamError),
}

/// Why a stream frame breaks the protocol.
#[derive(Debug)]
pub(crate) struct Violation(pub(crate) String);

#[derive(Debug)]
struct Opened {
    responses: mpsc::Sender<Event>,
    upload_credit: Arc<Semaphore>,
    /// Whether the callee said `Accepted` (at most once).
    accepted: bool,
}

#[derive(Debug)]
struct Served {
    response_credit: Arc<Semaphore>,
    uploads: Option<mpsc::Sender<Event>>,
}

#[derive(Debug, Default)]
pub(crate) struct StreamTable {
    opened: Mutex<HashMap<u64, Opened>>,
    served: Mutex<HashMap<u64, Served>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A channel that holds every item the sender may send under `window`
/// credit, plus the one `Accepted` and the one terminal event.
fn inlet(window: u32) -> (mpsc::Sender<Event>, mpsc::Receiver<Event>) {
    mpsc::channel(
        usize::try_from(window)
            .unwrap_or(usize::MAX)
            .saturating_add(3),
    )
}

impl StreamTable {
    /// Registers a stream this side opens; returns where its items arrive
    /// and the credit for uploads (none until the callee grants some).
    pub(crate) fn open(&self, id: u64, window: u32) -> (mpsc::Receiver<Event>, Arc<Semaphore>) {
        let (tx, rx) = inlet(window);
        let upload_credit = Arc::new(Semaphore::new(0));
        lock(&self.opened).insert(
            id,
            Opened {
                responses: tx,
                upload_credit: Arc::clone(&upload_credit),
                accepted: false,
            },
        );
        (rx, upload_credit)
    }

    pub(crate) fn forget_opened(&self, id: u64) {
        if let Some(opened) = lock(&self.opened).remove(&id) {
            opened.upload_credit.close();
        }
    }

    /// Registers a stream the peer opened, with the credit it granted (at most
    /// [`MAX_CREDIT`]; the reader refuses more).
    pub(crate) fn serve(&self, id: u64, credit: u32) {
        let served = Served {
            response_credit: Arc::new(Semaphore::new(
                usize::try_from(credit).unwrap_or(0).min(MAX_CREDIT),
            )),
            uploads: None,
        };
        lock(&self.served).insert(id, served);
    }

    pub(crate) fn is_served(&self, id: u64) -> bool {
        lock(&self.served).contains_key(&id)
    }

    pub(crate) fn forget_served(&self, id: u64) {
        if let Some(served) = lock(&self.served).remove(&id) {
            served.response_credit.close();
        }
    }

    /// The credit a handler's outgoing items wait on.
    pub(crate) fn response_credit(&self, id: u64) -> Option<Arc<Semaphore>> {
        lock(&self.served)
            .get(&id)
            .map(|s| Arc::clone(&s.response_credit))
    }

    /// Starts receiving the caller's uploads for stream `id`.
    pub(crate) fn accept_uploads(&self, id: u64, window: u32) -> Option<mpsc::Receiver<Event>> {
        let mut served = lock(&self.served);
        let entry = served.get_mut(&id)?;
        let (tx, rx) = inlet(window);
        entry.uploads = Some(tx);
        Some(rx)
    }

    /// Routes an item or end frame. Unknown ids are ignored (the receiver
    /// went away); items beyond the granted credit break the protocol.
    pub(crate) fn deliver(&self, to: Side, id: u64, event: Event) -> Result<(), Violation> {
        let end = matches!(event, Event::End);
        let sender = match to {
            Side::Caller => {
                let mut opened = lock(&self.opened);
                let sender = opened.get(&id).map(|o| o.responses.clone());
                if end {
                    opened.remove(&id);
                }
                sender
            }
            Side::Callee => {
                let mut served = lock(&self.served);
                match served.get_mut(&id) {
                    Some(entry) if end => entry.uploads.take(),
                    Some(Served { uploads: None, .. }) => {
                        // The handler has not asked for uploads, so it
                        // granted no credit: any item is beyond it.
                        return Err(beyond_credit(id));
                    }
                    Some(entry) => entry.uploads.clone(),
                    None => None,
                }
            }
        };
        let Some(sender) = sender else {
            return Ok(());
        };
        match sender.try_send(event) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => Err(beyond_credit(id)),
        }
    }

    /// Tells the opener of stream `id` that the callee accepted it. Unknown
    /// ids are ignored (the opener went away); a second `Accepted` breaks
    /// the protocol.
    pub(crate) fn accepted(&self, id: u64) -> Result<(), Violation> {
        let mut opened = lock(&self.opened);
        let Some(entry) = opened.get_mut(&id) else {
            return Ok(());
        };
        if entry.accepted {
            return Err(Violation(format!("stream {id}: accepted twice")));
        }
        entry.accepted = true;
        // Room is reserved for it; a closed receiver went away.
        let _ = entry.responses.try_send(Event::Accepted);
        Ok(())
    }

    /// Ends a stream this side opened with a reply or an error; `false` if
    /// no such stream is open.
    pub(crate) fn finish_opened(&self, id: u64, event: Event) -> bool {
        let Some(opened) = lock(&self.opened).remove(&id) else {
            return false;
        };
        opened.upload_credit.close();
        let _ = opened.responses.try_send(event);
        true
    }

    /// Adds credit granted by the peer.
    pub(crate) fn grant(&self, to: Side, id: u64, items: u32) -> Result<(), Violation> {
        let credit = match to {
            Side::Caller => lock(&self.opened)
                .get(&id)
                .map(|o| Arc::clone(&o.upload_credit)),
            Side::Callee => lock(&self.served)
                .get(&id)
                .map(|s| Arc::clone(&s.response_credit)),
        };
        let Some(credit) = credit else {
            return Ok(());
        };
        let items = usize::try_from(items).unwrap_or(usize::MAX);
        if credit.available_permits().saturating_add(items) > MAX_CREDIT {
            return Err(over_the_credit_cap(id));
        }
        credit.add_permits(items);
        Ok(())
    }

    /// Ends every stream: receivers see the session's end, senders waiting
    /// for credit wake up and stop.
    pub(crate) fn close_all(&self) {
        for (_, opened) in lock(&self.opened).drain() {
            opened.upload_credit.close();
        }
        for (_, served) in lock(&self.served).drain() {
            served.response_credit.close();
        }
    }
}

/// Credit for stream `id` would pass [`MAX_CREDIT`], in a `Credit` or an
/// `Open`.
pub(crate) fn over_the_credit_cap(id: u64) -> Violation {
    Violation(format!(
        "stream {id}: more than {MAX_CREDIT} items of credit"
    ))
}

fn beyond_credit(id: u64) -> Violation {
    Violation(format!("stream {id}: items beyond the granted credit"))
}
