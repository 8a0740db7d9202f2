//! A count of the tasks waiting on a `Notify`, so that whoever frees what
//! they wait for (room in the outbound queue, a slot of the peer's
//! in-flight limit) wakes them only when some wait: every `notify_*` takes
//! the `Notify`'s lock, and a busy connection frees both at every call.

use std::sync::atomic::{AtomicUsize, Ordering};

/// One waiter, counted until dropped: its wait is over, or its future was
/// dropped.
pub(crate) struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    /// Counts a waiter in `count`; with how many waited before it. `SeqCst`,
    /// as the freeing side's look at the count must be: either it sees this
    /// waiter, or this waiter's next try sees what it freed.
    pub(crate) fn join(count: &'a AtomicUsize) -> (Self, usize) {
        let before = count.fetch_add(1, Ordering::SeqCst);
        (Self(count), before)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
