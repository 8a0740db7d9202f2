//! [`beside`]: a future run beside another in one task until that one
//! ends, each polled only when its own waker fired.
//!
//! `tokio::join!` and `select!` poll every future they hold whenever the
//! task wakes. A session's reader wakes for each burst of messages, while
//! the futures beside it (the heartbeat and the call timer; a server
//! connection's watch for shutdown) wake once in seconds: polled on every
//! burst anyway, they cost a small call's round trip some 1,400
//! instructions of timers and tokens with nothing to say (a twentieth of
//! it). A `FuturesUnordered` keeps a waker per future and polls the woken
//! ones only. So the two must not wait on one [`Signal`](crate::signal::Signal),
//! which keeps a single waker.

use std::future::Future;

use futures_util::{FutureExt, StreamExt, future::Either, stream::FuturesUnordered};

/// Runs `main` to its end with `side` beside it, each polled only after
/// its own wake-up; `main`'s output. `side` is dropped then if it has not
/// ended. Both are boxed, so that the smaller does not take the larger's
/// room: once per session, not per call.
pub(crate) async fn beside<A: Future, B: Future<Output = ()>>(main: A, side: B) -> A::Output {
    let mut both = FuturesUnordered::new();
    both.push(Either::Left(Box::pin(main.map(Some))));
    both.push(Either::Right(Box::pin(side.map(|()| None))));
    while let Some(output) = both.next().await {
        if let Some(output) = output {
            return output;
        }
    }
    unreachable!("`main` ends before the set of futures that holds it does")
}

#[cfg(test)]
mod tests {
    use std::{
        pin::pin,
        sync::atomic::{AtomicBool, AtomicUsize, Ordering},
        task::{Context, Poll, Waker},
    };

    use super::*;

    #[test]
    fn the_quiet_side_is_not_polled_while_main_wakes() {
        let (busy, quiet) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let open = AtomicBool::new(false);
        let main = std::future::poll_fn(|cx| {
            busy.fetch_add(1, Ordering::SeqCst);
            if open.load(Ordering::SeqCst) {
                Poll::Ready("main")
            } else {
                // Wakes itself at once: the busy reader.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        });
        let side = std::future::poll_fn(|_| {
            quiet.fetch_add(1, Ordering::SeqCst);
            // Never wakes itself: only a wake-up of its own may poll it
            // again.
            Poll::<()>::Pending
        });
        let mut both = pin!(beside(main, side));
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..100 {
            assert!(both.as_mut().poll(&mut cx).is_pending());
        }
        assert!(busy.load(Ordering::SeqCst) >= 100);
        assert_eq!(quiet.load(Ordering::SeqCst), 1, "polled once, at the start");
        open.store(true, Ordering::SeqCst);
        assert_eq!(both.as_mut().poll(&mut cx), Poll::Ready("main"));
        assert_eq!(quiet.load(Ordering::SeqCst), 1, "the side was never woken");
    }

    #[tokio::test]
    async fn main_goes_on_after_the_side_ends() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let main = async move { rx.await.unwrap_or(0) };
        let side = async move {
            let _ = tx.send(7);
        };
        assert_eq!(beside(main, side).await, 7);
    }
}
