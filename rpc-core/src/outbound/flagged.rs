//! [`Flagged`]: a locked value the writer takes each round, with a flag
//! that lets it skip the lock when nothing was written since.

use std::sync::{
    Mutex, MutexGuard, PoisonError,
    atomic::{AtomicBool, Ordering},
};

/// A value behind a lock, flagged whenever it is written. Credits, cancels
/// and refusals are rare; the writer looks for them every round, and a
/// lock per round per queue was a measurable share of a lone call.
#[derive(Debug, Default)]
pub(crate) struct Flagged<T> {
    value: Mutex<T>,
    written: AtomicBool,
}

impl<T: Default> Flagged<T> {
    fn lock(&self) -> MutexGuard<'_, T> {
        // Each write is one push or one update: a panic cannot leave the
        // value half-made, so poisoning is ignored.
        self.value.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the value; the next [`take`](Self::take) sees the change.
    pub(crate) fn write<R>(&self, change: impl FnOnce(&mut T) -> R) -> R {
        let mut value = self.lock();
        let changed = change(&mut value);
        // Set under the lock: a take that clears the flag before this
        // write locks after it, and finds the change.
        self.written.store(true, Ordering::Release);
        changed
    }

    /// Whether anything was written since the last take.
    pub(crate) fn is_flagged(&self) -> bool {
        self.written.load(Ordering::Acquire)
    }

    /// The value written since the last take, leaving the default; `None`
    /// without a lock when nothing was.
    pub(crate) fn take(&self) -> Option<T> {
        if !self.written.swap(false, Ordering::AcqRel) {
            return None;
        }
        Some(std::mem::take(&mut *self.lock()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_take_finds_each_write_once() {
        let queue = Flagged::<Vec<u8>>::default();
        assert_eq!(queue.take(), None);
        queue.write(|queue| queue.push(1));
        queue.write(|queue| queue.push(2));
        assert_eq!(queue.take(), Some(vec![1, 2]));
        assert_eq!(queue.take(), None, "nothing written since");
        let refused = queue.write(|queue| !queue.is_empty());
        assert!(!refused);
        assert_eq!(
            queue.take(),
            Some(Vec::new()),
            "a write that changed nothing"
        );
    }
}
