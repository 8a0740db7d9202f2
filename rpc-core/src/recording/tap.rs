//! The tap: a transport around the session's own that hands a copy of each
//! binary message and close to the recording's writer task. It never
//! waits: the copy is a `Bytes` clone (a reference count) and a timestamp,
//! queued with `try_send`; when the queue is full the message is left out
//! and counted, and the count goes into the queue ahead of the next message
//! that fits, so the file marks the gap where it was.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use futures_util::{Sink, Stream, future::BoxFuture};
use tokio::{sync::mpsc, task::JoinHandle};

use super::{Direction, RecordedSide, Recording, writer};
use crate::{
    error::TransportError,
    transport::{BoxTransport, Outgoing, Received, Transport},
};

/// What the tap hands the writer.
#[derive(Debug)]
pub(super) enum Entry {
    /// A binary message.
    Message {
        ts: u64,
        dir: Direction,
        bytes: bytes::Bytes,
    },
    /// A close frame, sent or received.
    Close {
        ts: u64,
        dir: Direction,
        reason: crate::error::CloseReason,
    },
    /// Messages left out since the last entry.
    Dropped { ts: u64, count: u64 },
}

/// State the tap and the writer share.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Set by the writer once it records nothing more (the file cap, or a
    /// file it could not write): the tap then stops copying.
    pub(super) stopped: AtomicBool,
    /// Messages left out that no later entry reported: the tap's count
    /// when it ended.
    pub(super) dropped_at_end: AtomicU64,
}

/// The session's transport, recorded.
pub(super) struct Tap {
    inner: BoxTransport,
    recorder: Recorder,
}

/// The tap's end of the queue.
struct Recorder {
    tx: mpsc::Sender<Entry>,
    shared: Arc<Shared>,
    /// Messages left out since the last entry that fitted.
    dropped: u64,
    writer: Option<JoinHandle<()>>,
}

impl Tap {
    pub(super) fn new(
        inner: BoxTransport,
        recording: &Recording,
        side: RecordedSide,
        session: Option<u64>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(recording.queue.max(1));
        let shared = Arc::new(Shared::default());
        let writer = tokio::spawn(writer::run(
            rx,
            recording.clone(),
            side,
            session,
            Arc::clone(&shared),
        ));
        Self {
            inner,
            recorder: Recorder {
                tx,
                shared,
                dropped: 0,
                writer: Some(writer),
            },
        }
    }
}

/// Microseconds since the Unix epoch, from the system clock.
pub(super) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        })
}

impl Recorder {
    fn record(&mut self, entry: impl FnOnce(u64) -> Entry) {
        if self.shared.stopped.load(Ordering::Relaxed) {
            return;
        }
        let ts = now();
        if self.dropped > 0 {
            let count = self.dropped;
            if self.tx.try_send(Entry::Dropped { ts, count }).is_err() {
                self.dropped += 1;
                return;
            }
            self.dropped = 0;
        }
        if self.tx.try_send(entry(ts)).is_err() {
            // Full, or the writer is gone (it then set `stopped`).
            self.dropped += 1;
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.shared
            .dropped_at_end
            .fetch_add(self.dropped, Ordering::Relaxed);
    }
}

impl Stream for Tap {
    type Item = Received;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Received>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_next(cx);
        match &polled {
            Poll::Ready(Some(Received::Binary(bytes))) => {
                this.recorder.record(|ts| Entry::Message {
                    ts,
                    dir: Direction::In,
                    bytes: bytes.clone(),
                });
            }
            // A close this side decided (a message over the limit) is
            // recorded as the close frame it sends.
            Poll::Ready(Some(Received::End(reason))) if reason.by_peer => {
                this.recorder.record(|ts| Entry::Close {
                    ts,
                    dir: Direction::In,
                    reason: reason.clone(),
                });
            }
            _ => {}
        }
        polled
    }
}

impl Sink<Outgoing> for Tap {
    type Error = TransportError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Outgoing) -> Result<(), Self::Error> {
        match &item {
            Outgoing::Binary(bytes) => self.recorder.record(|ts| Entry::Message {
                ts,
                dir: Direction::Out,
                bytes: bytes.clone(),
            }),
            Outgoing::Close(reason) => self.recorder.record(|ts| Entry::Close {
                ts,
                dir: Direction::Out,
                reason: reason.clone(),
            }),
            Outgoing::Ping => {}
        }
        Pin::new(&mut self.inner).start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

impl Transport for Tap {
    fn linger(self: Box<Self>, timeout: Duration) -> BoxFuture<'static, ()> {
        let Tap {
            inner,
            mut recorder,
        } = *self;
        let writer = recorder.writer.take();
        // The session is over: ending the queue lets the writer write its
        // last lines and flush, which the connection task waits for (up to
        // the close timeout), so the file is whole once the session has
        // ended.
        drop(recorder);
        Box::pin(async move {
            inner.linger(timeout).await;
            if let Some(writer) = writer {
                let _ = tokio::time::timeout(timeout, writer).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use futures_util::{SinkExt, StreamExt};

    use super::*;
    use crate::{
        codec,
        protocol::{Frame, Reply},
        transport::memory,
    };

    fn reply(id: u64) -> Bytes {
        codec::encode_with(&Frame::Reply(Reply { id }), &id).unwrap()
    }

    #[test]
    fn a_gap_is_queued_ahead_of_the_next_message_that_fits() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut recorder = Recorder {
            tx,
            shared: Arc::default(),
            dropped: 0,
            writer: None,
        };
        let message = |ts| Entry::Message {
            ts,
            dir: Direction::In,
            bytes: reply(1),
        };
        for _ in 0..5 {
            recorder.record(message);
        }
        assert_eq!(recorder.dropped, 3, "two fit, three did not");
        assert!(matches!(rx.try_recv(), Ok(Entry::Message { .. })));
        assert!(matches!(rx.try_recv(), Ok(Entry::Message { .. })));
        recorder.record(message);
        assert!(matches!(rx.try_recv(), Ok(Entry::Dropped { count: 3, .. })));
        assert!(matches!(rx.try_recv(), Ok(Entry::Message { .. })));
        recorder.record(message);
        recorder.record(message);
        recorder.record(message);
        let shared = Arc::clone(&recorder.shared);
        drop(recorder);
        assert_eq!(
            shared.dropped_at_end.load(Ordering::Relaxed),
            1,
            "the gap at the end is handed to the writer"
        );
    }

    #[tokio::test]
    async fn the_session_never_waits_for_the_recorder() {
        let dir = std::env::temp_dir().join(format!("rpc-tap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (ours, mut theirs) = memory::pair(64, (1 << 20, 1 << 20));
        let recording = Recording::new(&dir).queue(1);
        let mut tap = Tap::new(Box::new(ours), &recording, RecordedSide::Server, Some(5));
        // On this one-thread runtime the writer task cannot run until this
        // test awaits something that waits: the queue holds one message.
        for id in 1..=5 {
            tap.send(Outgoing::Binary(reply(id))).await.unwrap();
        }
        for _ in 0..5 {
            assert!(matches!(theirs.next().await, Some(Received::Binary(_))));
        }
        drop(theirs);
        Box::new(tap).linger(Duration::from_secs(10)).await;

        let text = std::fs::read_to_string(dir.join("5.jsonl")).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with(r#"{"recording":1,"side":"server","session":5"#));
        assert!(lines[1].contains(r#""kind":"reply","id":1"#), "{text}");
        assert!(lines[2].ends_with(r#""dropped":4}"#), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
