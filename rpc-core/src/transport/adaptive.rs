//! An adaptive read buffer between a byte stream and tungstenite.
//!
//! Tungstenite reads at most `read_buffer_size` bytes per `read` (and
//! zero-fills that chunk first). Small, it keeps idle connections cheap but
//! costs a syscall per chunk of a large message: 256 `recvfrom` for 1 MiB
//! with 4 KiB. Large, every idle connection pays for it.
//!
//! [`AdaptiveRead`] reads straight into tungstenite's buffer while messages
//! are small. When such a read fills that buffer, more is waiting (a large
//! message is arriving), so the next reads from the stream go through a
//! scratch buffer of [`LARGE`] bytes: one syscall takes as much as the
//! socket holds, and tungstenite's reads are served from it by a copy. Once
//! the socket runs dry (a read into the scratch returns less than it could
//! take, or nothing yet) and the scratch is drained, it is freed and reads
//! go direct again: an idle connection holds no scratch.

use std::{
    cell::Cell,
    io,
    pin::Pin,
    task::{Context, Poll, ready},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::io::poll_read_buf;

/// Size of the scratch buffer: a 1 MiB message takes 9 reads instead of
/// the 256 of a 4 KiB buffer. Allocated only while large messages arrive.
const LARGE: usize = 128 << 10;

thread_local! {
    /// A freed scratch buffer kept for the next connection of this thread
    /// that needs one: a large message in 64 KiB pieces frees and takes the
    /// scratch again between pieces, and a fresh 128 KiB allocation each
    /// time cost page faults (glibc maps allocations this large on their
    /// own). One per thread, so idle connections still hold none.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A scratch buffer: this thread's spare, or a new one.
fn take_spare() -> Vec<u8> {
    let spare = SPARE.with(Cell::take);
    if spare.capacity() >= LARGE {
        spare
    } else {
        Vec::with_capacity(LARGE)
    }
}

/// Keeps `scratch` as this thread's spare, emptied, unless it has one.
fn keep_spare(mut scratch: Vec<u8>) {
    if scratch.capacity() < LARGE {
        return;
    }
    scratch.clear();
    SPARE.with(|spare| {
        let old = spare.replace(scratch);
        if old.capacity() >= LARGE {
            // It had one already: keep that, drop this.
            drop(spare.replace(old));
        }
    });
}

/// A byte stream whose reads adapt to the size of what arrives: direct
/// while it is little, through a [`LARGE`] scratch buffer while the caller's
/// buffer comes back full. Writes, flushes and shutdown pass straight
/// through.
pub(crate) struct AdaptiveRead<S> {
    inner: S,
    /// Bytes read from `inner` ahead of the caller; `scratch[pos..]` are
    /// not yet handed out. No allocation while reads go direct.
    scratch: Vec<u8>,
    pos: usize,
    /// Whether the next read from `inner` goes through the scratch: the
    /// last one filled all it was given, so more is likely waiting.
    ahead: bool,
}

impl<S> AdaptiveRead<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self {
            inner,
            scratch: Vec::new(),
            pos: 0,
            ahead: false,
        }
    }

    /// Hands out what the scratch holds, as much as `buf` takes. Drained,
    /// the scratch is kept for the next read from `inner` while more is
    /// waiting, and freed once the socket ran dry.
    fn serve(&mut self, buf: &mut ReadBuf<'_>) {
        let n = (self.scratch.len() - self.pos).min(buf.remaining());
        buf.put_slice(&self.scratch[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == self.scratch.len() {
            if self.ahead {
                self.scratch.clear();
                self.pos = 0;
            } else {
                self.release();
            }
        }
    }

    /// Frees the scratch (the allocation, not only its contents) and goes
    /// back to direct reads.
    fn release(&mut self) {
        keep_spare(std::mem::take(&mut self.scratch));
        self.pos = 0;
        self.ahead = false;
    }

    /// Capacity the scratch holds: zero whenever reads go direct.
    #[cfg(test)]
    fn scratch_capacity(&self) -> usize {
        self.scratch.capacity()
    }
}

impl<S: AsyncRead + Unpin> AdaptiveRead<S> {
    /// Reads from `inner` into the empty scratch, allocating it if needed,
    /// and serves `buf` from it. A read that is not ready means the socket
    /// ran dry: the scratch is freed then, so that a connection going idle
    /// holds none, and the next read goes direct.
    fn poll_fill(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        debug_assert!(self.scratch.is_empty() && self.pos == 0);
        if self.scratch.capacity() == 0 {
            self.scratch = take_spare();
        }
        let room = self.scratch.capacity();
        match poll_read_buf(Pin::new(&mut self.inner), cx, &mut self.scratch) {
            Poll::Ready(Ok(n)) => {
                // Short (or 0 at the end of the stream): the socket ran dry.
                self.ahead = n == room;
                self.serve(buf);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => {
                self.release();
                Poll::Ready(Err(err))
            }
            Poll::Pending => {
                self.release();
                Poll::Pending
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for AdaptiveRead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let want = buf.remaining();
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        if this.pos < this.scratch.len() {
            this.serve(buf);
            return Poll::Ready(Ok(()));
        }
        // A caller's buffer as large as the scratch gains nothing from it.
        if this.ahead && want < LARGE {
            return this.poll_fill(cx, buf);
        }
        if this.scratch.capacity() > 0 {
            this.release();
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        this.ahead = buf.filled().len() - before == want && want < LARGE;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AdaptiveRead<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::{
        collections::VecDeque,
        sync::{
            Arc,
            atomic::{AtomicBool, Ordering},
        },
        task::{Wake, Waker},
    };

    use proptest::prelude::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// What the scripted stream does on a read.
    enum Step {
        /// The socket holds these bytes: reads take them, as much as fits.
        Data(Vec<u8>),
        /// Nothing yet: registers the waker and returns `Pending`.
        Pending,
        /// The read fails.
        Fail,
    }

    /// A stream that plays `steps`, then ends (reads return 0 bytes).
    struct Script {
        steps: VecDeque<Step>,
        /// Calls of `poll_read`: the syscalls a socket would make.
        reads: usize,
        waker: Option<Waker>,
    }

    /// An adaptive reader over a stream that plays `steps`.
    fn script(steps: impl IntoIterator<Item = Step>) -> AdaptiveRead<Script> {
        AdaptiveRead::new(Script {
            steps: steps.into_iter().collect(),
            reads: 0,
            waker: None,
        })
    }

    impl AsyncRead for Script {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = self.get_mut();
            this.reads += 1;
            match this.steps.front_mut() {
                None => Poll::Ready(Ok(())),
                Some(Step::Pending) => {
                    this.steps.pop_front();
                    this.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
                Some(Step::Fail) => {
                    this.steps.pop_front();
                    Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()))
                }
                Some(Step::Data(bytes)) => {
                    let n = bytes.len().min(buf.remaining());
                    buf.put_slice(&bytes[..n]);
                    bytes.drain(..n);
                    if bytes.is_empty() {
                        this.steps.pop_front();
                    }
                    Poll::Ready(Ok(()))
                }
            }
        }
    }

    /// Bytes that show a loss or a reordering.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i.wrapping_mul(7) ^ (i >> 9)).to_le_bytes()[0])
            .collect()
    }

    fn read_with(
        reader: &mut AdaptiveRead<Script>,
        waker: &Waker,
        size: usize,
    ) -> Poll<io::Result<Vec<u8>>> {
        let mut storage = vec![0; size];
        let mut buf = ReadBuf::new(&mut storage);
        let mut cx = Context::from_waker(waker);
        ready!(Pin::new(reader).poll_read(&mut cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().to_vec()))
    }

    /// One read of at most `size` bytes, with a waker that does nothing.
    fn read(reader: &mut AdaptiveRead<Script>, size: usize) -> Poll<io::Result<Vec<u8>>> {
        read_with(reader, Waker::noop(), size)
    }

    fn ready_len(poll: Poll<io::Result<Vec<u8>>>) -> usize {
        match poll {
            Poll::Ready(Ok(bytes)) => bytes.len(),
            other => panic!("expected bytes, got {other:?}"),
        }
    }

    #[test]
    fn small_reads_go_direct_and_allocate_nothing() {
        let mut reader = script([
            Step::Data(vec![1; 100]),
            Step::Data(vec![2; 50]),
            Step::Pending,
        ]);
        assert_eq!(ready_len(read(&mut reader, 4096)), 100);
        assert_eq!(ready_len(read(&mut reader, 4096)), 50);
        assert!(read(&mut reader, 4096).is_pending());
        assert_eq!(reader.inner.reads, 3, "one read of the stream each");
        assert_eq!(reader.scratch_capacity(), 0);
        assert_eq!(ready_len(read(&mut reader, 4096)), 0, "the end");
        assert_eq!(reader.scratch_capacity(), 0);
    }

    #[test]
    fn after_a_full_read_a_large_message_takes_few_reads() {
        let data = pattern(1 << 20);
        let mut reader = script([Step::Data(data.clone()), Step::Pending]);
        let mut out = Vec::new();
        let mut caller_reads = 0;
        while let Poll::Ready(bytes) = read(&mut reader, 4096) {
            out.extend(bytes.unwrap());
            caller_reads += 1;
        }
        assert_eq!(out, data);
        assert_eq!(caller_reads, 256);
        // One direct read fills 4 KiB, 8 large ones take the rest (the
        // last one short), and one finds the socket empty.
        assert_eq!(reader.inner.reads, 10);
        assert_eq!(reader.scratch_capacity(), 0, "freed once drained");
    }

    #[test]
    fn a_caller_buffer_as_large_as_the_scratch_reads_direct() {
        let mut reader = script([Step::Data(pattern(4 * LARGE))]);
        for _ in 0..4 {
            assert_eq!(ready_len(read(&mut reader, LARGE)), LARGE);
            assert_eq!(reader.scratch_capacity(), 0);
        }
        assert_eq!(reader.inner.reads, 4);
    }

    #[test]
    fn the_scratch_is_freed_once_drained_after_a_short_read() {
        let mut reader = script([Step::Data(pattern(4096 + 10_000)), Step::Pending]);
        assert_eq!(ready_len(read(&mut reader, 4096)), 4096, "direct, full");
        assert_eq!(reader.scratch_capacity(), 0, "not allocated before needed");
        assert_eq!(ready_len(read(&mut reader, 4096)), 4096, "from 10,000");
        assert_eq!(reader.scratch_capacity(), LARGE);
        assert_eq!(ready_len(read(&mut reader, 4096)), 4096);
        assert_eq!(reader.scratch_capacity(), LARGE, "not yet drained");
        assert_eq!(ready_len(read(&mut reader, 4096)), 10_000 - 2 * 4096);
        assert_eq!(reader.scratch_capacity(), 0, "drained after a short read");
        assert_eq!(reader.inner.reads, 2);
        assert!(read(&mut reader, 4096).is_pending(), "direct again");
        assert_eq!(reader.inner.reads, 3);
        assert_eq!(reader.scratch_capacity(), 0);
    }

    #[test]
    fn a_full_scratch_is_freed_when_the_socket_is_then_empty() {
        let mut reader = script([
            Step::Data(pattern(4096 + LARGE)),
            Step::Pending,
            Step::Data(vec![9; 10]),
        ]);
        assert_eq!(ready_len(read(&mut reader, 4096)), 4096);
        for _ in 0..LARGE / 4096 {
            assert_eq!(ready_len(read(&mut reader, 4096)), 4096);
        }
        assert_eq!(reader.inner.reads, 2, "one large read took it all");
        assert_eq!(reader.scratch_capacity(), LARGE, "full: more may wait");
        assert!(read(&mut reader, 4096).is_pending());
        assert_eq!(
            reader.scratch_capacity(),
            0,
            "an idle connection holds none"
        );
        assert_eq!(ready_len(read(&mut reader, 4096)), 10);
        assert_eq!(reader.scratch_capacity(), 0, "a short direct read");
    }

    /// Counts its wake-ups.
    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn pending_reaches_the_stream_with_the_callers_waker() {
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&flag));
        let mut reader = script([
            Step::Data(pattern(4096)),
            Step::Pending,
            Step::Data(pattern(100)),
        ]);
        assert_eq!(ready_len(read_with(&mut reader, &waker, 4096)), 4096);
        // Through the scratch, which the stream has nothing for yet.
        assert!(read_with(&mut reader, &waker, 4096).is_pending());
        assert_eq!(reader.inner.reads, 2, "the stream was polled");
        assert_eq!(reader.scratch_capacity(), 0, "not kept while waiting");
        reader
            .inner
            .waker
            .take()
            .expect("a registered waker")
            .wake();
        assert!(flag.0.load(Ordering::SeqCst), "the caller is woken");
        assert_eq!(ready_len(read_with(&mut reader, &waker, 4096)), 100);
    }

    #[test]
    fn the_end_comes_after_the_buffered_bytes() {
        let data = pattern(1000 + 3000);
        let mut reader = script([Step::Data(data.clone())]);
        let mut out = Vec::new();
        for _ in 0..4 {
            match read(&mut reader, 1000) {
                Poll::Ready(Ok(bytes)) => {
                    assert_eq!(bytes.len(), 1000);
                    out.extend(bytes);
                }
                other => panic!("expected 1000 bytes, got {other:?}"),
            }
        }
        assert_eq!(out, data);
        assert_eq!(reader.inner.reads, 2, "one direct read, one large");
        assert_eq!(ready_len(read(&mut reader, 1000)), 0, "then the end");
        assert_eq!(ready_len(read(&mut reader, 1000)), 0, "and again");
        assert_eq!(reader.scratch_capacity(), 0);
    }

    #[test]
    fn the_end_of_a_stream_read_through_the_scratch_passes_through() {
        let mut reader = script([Step::Data(pattern(4096 + LARGE))]);
        for _ in 0..=LARGE / 4096 {
            assert_eq!(ready_len(read(&mut reader, 4096)), 4096);
        }
        assert_eq!(ready_len(read(&mut reader, 4096)), 0, "the end");
        assert_eq!(reader.scratch_capacity(), 0);
    }

    #[test]
    fn errors_pass_through_and_free_the_scratch() {
        let mut reader = script([
            Step::Fail,
            Step::Data(pattern(4096)),
            Step::Fail,
            Step::Data(vec![1; 10]),
        ]);
        let kind = |poll: Poll<io::Result<Vec<u8>>>| match poll {
            Poll::Ready(Err(err)) => err.kind(),
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(
            kind(read(&mut reader, 4096)),
            io::ErrorKind::ConnectionReset
        );
        assert_eq!(ready_len(read(&mut reader, 4096)), 4096);
        assert_eq!(
            kind(read(&mut reader, 4096)),
            io::ErrorKind::ConnectionReset
        );
        assert_eq!(reader.scratch_capacity(), 0);
        assert_eq!(ready_len(read(&mut reader, 4096)), 10);
    }

    #[tokio::test]
    async fn bytes_cross_a_pipe_both_ways() {
        let (near, mut far) = tokio::io::duplex(64 << 10);
        let mut near = AdaptiveRead::new(near);
        let data = pattern(1 << 20);
        let sent = data.clone();
        let peer = tokio::spawn(async move {
            far.write_all(&sent).await.unwrap();
            let mut back = vec![0; 5];
            far.read_exact(&mut back).await.unwrap();
            far.shutdown().await.unwrap();
            back
        });
        let mut out = Vec::new();
        let mut chunk = vec![0; 4096];
        while out.len() < data.len() {
            let n = near.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the data ends early");
            out.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(out, data);
        near.write_all(b"hello").await.unwrap();
        near.flush().await.unwrap();
        assert_eq!(near.read(&mut chunk).await.unwrap(), 0);
        assert_eq!(peer.await.unwrap(), b"hello");
        assert_eq!(near.scratch_capacity(), 0);
    }

    /// Caller buffer sizes: mostly tungstenite-like, some tiny, some at
    /// the scratch's size and beyond.
    fn caller_size() -> impl Strategy<Value = usize> {
        prop_oneof![
            1 => 1..64usize,
            4 => 64..8192usize,
            1 => (LARGE - 2)..(LARGE + 2),
            1 => 8192..(3 * LARGE),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn bytes_come_out_whole_and_in_order(
            len in 0..(3 * LARGE),
            arrivals in proptest::collection::vec((1..(2 * LARGE), any::<bool>()), 1..12),
            sizes in proptest::collection::vec(caller_size(), 1..12),
        ) {
            let data = pattern(len);
            let mut steps = Vec::new();
            let mut rest = &data[..];
            for (size, pending) in arrivals.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (now, later) = rest.split_at((*size).min(rest.len()));
                steps.push(Step::Data(now.to_vec()));
                if *pending {
                    steps.push(Step::Pending);
                }
                rest = later;
            }
            let mut reader = script(steps);
            let mut out = Vec::new();
            for size in sizes.iter().cycle() {
                let reads = reader.inner.reads;
                match read(&mut reader, *size) {
                    Poll::Ready(Ok(bytes)) if bytes.is_empty() => break,
                    Poll::Ready(Ok(bytes)) => {
                        prop_assert!(bytes.len() <= *size);
                        out.extend(bytes);
                    }
                    Poll::Ready(Err(err)) => panic!("no error was scripted: {err}"),
                    Poll::Pending => {
                        prop_assert!(reader.inner.reads > reads, "pending without a read");
                        prop_assert_eq!(reader.scratch_capacity(), 0, "held while waiting");
                    }
                }
                prop_assert!(out.len() <= data.len());
            }
            prop_assert!(out == data, "{} bytes out of {}", out.len(), data.len());
            prop_assert_eq!(reader.scratch_capacity(), 0);
        }
    }
}
