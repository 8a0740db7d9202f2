//! [`beside`]: a future run beside another in one task until that one
//! ends, the side polled only when its own waker fired.
//!
//! `tokio::join!` and `select!` poll every future they hold whenever the
//! task wakes. A session's reader wakes for each burst of messages, while
//! the future beside it (the heartbeat and the call timer; a server
//! connection's watch for shutdown) wakes once in seconds: polled on every
//! burst anyway, it would cost a small call's round trip some 1,400
//! instructions of timers and tokens with nothing to say (a twentieth of
//! it). So the side gets a waker of its own that raises a flag before it
//! wakes the task, and is polled only with the flag up; the main future
//! gets the task's waker itself. A `FuturesUnordered` did the same before,
//! but put its own waker, queue and bookkeeping between every wake-up of
//! the reader and its poll: cold memory per message when a process holds
//! thousands of sessions. The side must not share a
//! [`Signal`](crate::signal::Signal) with `main`, which keeps a single
//! waker.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use futures_util::task::AtomicWaker;

/// Runs `main` to its end with `side` beside it, the side polled at first
/// and then only after its own wake-up; `main`'s output. `side` is dropped
/// then if it has not ended. Both are boxed, so that the smaller does not
/// take the larger's room: once per session, not per call.
pub(crate) fn beside<A: Future, B: Future<Output = ()>>(main: A, side: B) -> Beside<A, B> {
    let flag = Arc::new(SideFlag {
        // Up, so that the first poll polls the side.
        raised: AtomicBool::new(true),
        task: AtomicWaker::new(),
    });
    Beside {
        main: Box::pin(main),
        side: Some(Box::pin(side)),
        side_waker: Waker::from(Arc::clone(&flag)),
        flag,
        registered: None,
    }
}

/// The future [`beside`] returns.
pub(crate) struct Beside<A, B> {
    main: Pin<Box<A>>,
    side: Option<Pin<Box<B>>>,
    flag: Arc<SideFlag>,
    /// The side's waker, made once: it raises `flag`, then wakes the task.
    side_waker: Waker,
    /// The task's waker last given to `flag`, to tell without touching
    /// `flag` whether a poll brings another.
    registered: Option<Waker>,
}

/// Raised by the side's waker; the task's waker it then wakes.
struct SideFlag {
    raised: AtomicBool,
    task: AtomicWaker,
}

impl Wake for SideFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.raised.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl<A: Future, B: Future<Output = ()>> Future for Beside<A, B> {
    type Output = A::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<A::Output> {
        // Every field is boxed or plain: nothing here is pinned in place.
        let this = self.get_mut();
        if let Some(side) = &mut this.side {
            // Read before it is swapped: a raised flag is rare, and a wake-up
            // that this read misses wakes the task again.
            let raised = this.flag.raised.load(Ordering::Relaxed)
                && this.flag.raised.swap(false, Ordering::Acquire);
            // A wake-up took the registered waker; a poll may also come
            // from another one. Registered before the side is polled: a
            // wake-up from then on reaches this task, and one before it
            // left the flag up, so the poll below sees what it announced.
            let moved = !this
                .registered
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()));
            if raised || moved {
                this.flag.task.register(cx.waker());
                if moved {
                    this.registered = Some(cx.waker().clone());
                }
            }
            if raised
                && side
                    .as_mut()
                    .poll(&mut Context::from_waker(&this.side_waker))
                    .is_ready()
            {
                this.side = None;
            }
        }
        this.main.as_mut().poll(cx)
    }
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

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Woken(AtomicUsize);

    impl std::task::Wake for Woken {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_side_wakes_the_waker_of_the_latest_poll() {
        let side_waker = std::sync::Mutex::new(None::<Waker>);
        let side = std::future::poll_fn(|cx| {
            *side_waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::<()>::Pending
        });
        let main = std::future::poll_fn(|_| Poll::<()>::Pending);
        let mut both = pin!(beside(main, side));
        let (first, second) = (
            std::sync::Arc::new(Woken::default()),
            std::sync::Arc::new(Woken::default()),
        );
        for task in [&first, &second] {
            let waker = Waker::from(std::sync::Arc::clone(task));
            assert!(
                both.as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
            );
        }
        // Polled by another task's waker, then woken: that task hears it.
        side_waker.lock().unwrap().take().unwrap().wake();
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_side_woken_later_is_polled_again() {
        let (wake_side, side_waits) = tokio::sync::oneshot::channel::<()>();
        let (side_done, main_waits) = tokio::sync::oneshot::channel();
        // The side waits on another task; only its own wake-up can get it
        // polled again, and `main` waits for what the side then does.
        let main = async move { main_waits.await.unwrap_or(0) };
        let side = async move {
            let _ = side_waits.await;
            let _ = side_done.send(9);
        };
        let both = tokio::spawn(beside(main, side));
        tokio::task::yield_now().await;
        wake_side.send(()).unwrap();
        let answer = tokio::time::timeout(std::time::Duration::from_secs(10), both).await;
        assert_eq!(
            answer
                .expect("the side was polled after its wake-up")
                .unwrap(),
            9
        );
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
