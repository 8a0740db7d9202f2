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
    session::fragment,
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
pub struct Reassembly(fragment::Reassembly);

impl Reassembly {
    /// A buffer for messages of at most `max_message` bytes, at most
    /// `max_total` bytes in transit at once.
    pub fn new(max_message: usize, max_total: usize) -> Self {
        Self(fragment::Reassembly::new(
            max_message,
            max_total,
            Duration::from_secs(60),
        ))
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

/// Feeds `data` to a [`Reassembly`] as a sequence of pieces, each a byte
/// of header (message id in the low two bits, `last` in the next) and a
/// byte of length, then that many bytes. Checks every completed message
/// against the pieces sent for it, and that the limits hold.
pub fn run_reassembly(data: &[u8]) {
    const MAX_MESSAGE: usize = 600;
    const MAX_TOTAL: usize = 1000;
    let mut buffer = Reassembly::new(MAX_MESSAGE, MAX_TOTAL);
    let mut sent: [Vec<u8>; 4] = Default::default();
    let mut rest = data;
    while let [head, len, tail @ ..] = rest {
        let (piece, tail) = tail.split_at(usize::from(*len).min(tail.len()));
        rest = tail;
        let (message, last) = (head & 0b11, head & 0b100 != 0);
        let id = usize::from(message);
        sent[id].extend_from_slice(piece);
        let in_transit: usize = sent.iter().map(Vec::len).sum();
        match buffer.add(u64::from(message), last, piece) {
            Ok(Some(whole)) => {
                assert!(last);
                assert_eq!(whole, sent[id]);
                sent[id].clear();
            }
            Ok(None) => assert!(!last),
            Err(_) => {
                assert!(sent[id].len() > MAX_MESSAGE || in_transit > MAX_TOTAL);
                return;
            }
        }
        assert!(sent[id].len() <= MAX_MESSAGE && in_transit <= MAX_TOTAL);
    }
}
