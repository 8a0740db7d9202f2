//! Entry points for the fuzz targets in `fuzz/` and for the test that
//! replays their corpus on stable Rust, so that both run the same code.
//! Not part of the API: names and signatures change without notice.
//!
//! Each `run_*` takes one fuzzer input and panics only when an invariant of
//! the code under test is broken; a peer's garbage must come back as an
//! error, never as a panic.

use std::time::Duration;

use bytes::Bytes;

use crate::{
    codec,
    error::CloseReason,
    protocol::{Frame, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION},
    session::reassembly,
};

/// The largest message the targets accept, as a session's default does.
const MAX_MESSAGE: usize = 16 << 20;

/// Decodes `data` as one message; whatever decodes must encode again and
/// decode to the same frame and payload.
pub fn run_frame(data: &[u8]) {
    let message = Bytes::copy_from_slice(data);
    let Ok(decoded) = codec::decode(&message, MAX_MESSAGE) else {
        return;
    };
    let again = codec::encode_raw(&decoded.frame, &decoded.payload)
        .expect("a frame that decoded is within the bounds and encodes");
    let round = codec::decode(&again, MAX_MESSAGE).expect("an encoded frame decodes");
    assert_eq!(round.frame, decoded.frame);
    assert_eq!(round.payload, decoded.payload);
}

/// Decodes `data` as the first message of a client and negotiates a
/// version, as the server's handshake does.
pub fn run_handshake(data: &[u8]) {
    let message = Bytes::copy_from_slice(data);
    let Ok(codec::Decoded {
        frame: Frame::Hello(hello),
        ..
    }) = codec::decode(&message, MAX_MESSAGE)
    else {
        return;
    };
    if let Some(version) = hello.negotiate() {
        assert!((MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&version));
        assert!((hello.min_version..=hello.max_version).contains(&version));
    } else {
        let ours = MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION;
        let theirs = hello.min_version..=hello.max_version;
        assert!(ours.clone().all(|v| !theirs.contains(&v)));
    }
}

/// The session's reassembly buffer, unchanged.
#[derive(Debug)]
pub struct Reassembly(reassembly::Reassembly);

impl Reassembly {
    /// A buffer for messages of at most `max_message` bytes, at most
    /// `max_total` bytes (with each partial message's overhead) and
    /// `max_partials` partial messages in transit at once.
    pub fn new(max_message: usize, max_total: usize, max_partials: usize) -> Self {
        Self(reassembly::Reassembly::new(reassembly::Limits {
            max_message,
            max_total,
            max_partials,
            timeout: Duration::from_secs(60),
        }))
    }

    /// Adds one piece of `message`; the whole message once `last` ends it.
    pub fn add(
        &mut self,
        message: u64,
        last: bool,
        piece: &[u8],
    ) -> Result<Option<Bytes>, CloseReason> {
        self.0.add(message, last, piece)
    }
}

/// What the reassembly buffer should hold, kept by hand beside it.
#[derive(Default)]
struct Model {
    sent: [Vec<u8>; 4],
    started: [bool; 4],
    charged: usize,
}

/// Feeds `data` to a [`Reassembly`] as a sequence of pieces, each a byte
/// of header (message id in the low two bits, `last` in the next) and a
/// byte of length, then that many bytes. A model of the limits says, for
/// every piece, whether it must be refused and what a completed message
/// must hold; the buffer must agree.
pub fn run_reassembly(data: &[u8]) {
    const MAX_MESSAGE: usize = 600;
    const MAX_TOTAL: usize = 1000;
    const MAX_PARTIALS: usize = 3;
    let overhead = reassembly::PARTIAL_OVERHEAD;
    let mut buffer = Reassembly::new(MAX_MESSAGE, MAX_TOTAL, MAX_PARTIALS);
    let mut model = Model::default();
    let mut rest = data;
    while let [head, len, tail @ ..] = rest {
        let (piece, tail) = tail.split_at(usize::from(*len).min(tail.len()));
        rest = tail;
        let (message, last) = (head & 0b11, head & 0b100 != 0);
        let id = usize::from(message);
        let outcome = buffer.add(u64::from(message), last, piece);
        if !model.started[id] && last {
            // A message in one piece is never held.
            assert_eq!(outcome.expect("one piece is whole").as_deref(), Some(piece));
            continue;
        }
        let added = piece.len() + if model.started[id] { 0 } else { overhead };
        let partials = model.started.iter().filter(|s| **s).count();
        let refused = model.sent[id].len() + piece.len() > MAX_MESSAGE
            || model.charged + added > MAX_TOTAL
            || (!model.started[id] && partials >= MAX_PARTIALS);
        if refused {
            assert!(outcome.is_err(), "a piece over the limits was taken");
            return;
        }
        let outcome = outcome.expect("a piece within the limits is taken");
        model.sent[id].extend_from_slice(piece);
        model.started[id] = true;
        model.charged += added;
        if last {
            assert_eq!(outcome.as_deref(), Some(&model.sent[id][..]));
            model.charged -= model.sent[id].len() + overhead;
            model.sent[id].clear();
            model.started[id] = false;
        } else {
            assert!(outcome.is_none());
        }
    }
}
