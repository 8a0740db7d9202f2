//! The recording sorted for replay: the inbound messages to send, each
//! with what must have happened before it, and the recorded answers to
//! compare with.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};

use super::{
    Direction,
    read::Recorded,
    report::{Answer, ReplayReport, ReplayedCall},
};
use crate::{
    codec,
    config::SessionConfig,
    protocol::{
        Accepted, Described, Features, Frame, Hello, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, Reply,
        Side, StreamRef,
    },
    session::handshake,
};

/// The recording, sorted for replay.
pub(super) struct Plan {
    pub(super) hello: Bytes,
    pub(super) steps: Vec<Step>,
    /// Ids of the client's requests in the order the recording shows their
    /// last answer.
    pub(super) answered: Vec<u64>,
    requests: Vec<(u64, &'static str, Option<String>)>,
    recorded: HashMap<u64, Vec<Answer>>,
    pub(super) recorded_refusals: Vec<Answer>,
    casts: usize,
    skipped: usize,
}

/// One inbound message to send, and what must have happened first.
pub(super) struct Step {
    pub(super) bytes: Bytes,
    /// `answered[..after]` must have their replayed answers.
    pub(super) after: usize,
    /// The server's own request this answers, which it must have made.
    pub(super) answers_server: Option<u64>,
}

/// Pieces of fragmented messages being joined, per direction.
#[derive(Default)]
pub(super) struct Joiner {
    partials: HashMap<u64, (BytesMut, bool)>,
}

impl Joiner {
    /// The whole message, once `message` completes one, and whether any
    /// piece of it was cut.
    pub(super) fn push(&mut self, message: &Bytes, truncated: bool) -> Option<(Bytes, bool)> {
        let Ok(decoded) = codec::decode(message, usize::MAX) else {
            return Some((message.clone(), truncated));
        };
        let Frame::Fragment(fragment) = decoded.frame else {
            return Some((message.clone(), truncated));
        };
        let entry = self.partials.entry(fragment.message).or_default();
        entry.0.extend_from_slice(&decoded.payload);
        entry.1 |= truncated;
        if !fragment.last {
            return None;
        }
        let (whole, cut) = self.partials.remove(&fragment.message)?;
        Some((whole.freeze(), cut))
    }
}

/// What a server's message is to the client's requests.
pub(super) enum Outbound {
    /// An answer to the client's request `id`; `last` for its final one.
    Answer {
        id: u64,
        last: bool,
    },
    /// An error of id 0: a refused or failed cast.
    Refusal,
    /// The server's own request, with its id.
    Request(u64),
    Other,
}

pub(super) fn outbound(message: &Bytes) -> Outbound {
    let Ok(decoded) = codec::decode(message, usize::MAX) else {
        return Outbound::Other;
    };
    match decoded.frame {
        Frame::Error(error) if error.id == 0 => Outbound::Refusal,
        Frame::Reply(Reply { id }) | Frame::Described(Described { id }) => {
            Outbound::Answer { id, last: true }
        }
        Frame::Error(error) => Outbound::Answer {
            id: error.id,
            last: true,
        },
        Frame::End(end) if end.to == Side::Caller => Outbound::Answer {
            id: end.id,
            last: true,
        },
        Frame::Item(item) if item.to == Side::Caller => Outbound::Answer {
            id: item.id,
            last: false,
        },
        Frame::Accepted(accepted) => Outbound::Answer {
            id: accepted.id,
            last: false,
        },
        Frame::Call(call) => Outbound::Request(call.id),
        Frame::Open(open) => Outbound::Request(open.id),
        Frame::Discover(discover) => Outbound::Request(discover.id),
        _ => Outbound::Other,
    }
}

impl Plan {
    pub(super) fn new(recorded: &Recorded) -> Self {
        let mut plan = Plan {
            hello: Bytes::new(),
            steps: Vec::new(),
            answered: Vec::new(),
            requests: Vec::new(),
            recorded: HashMap::new(),
            recorded_refusals: Vec::new(),
            casts: 0,
            skipped: 0,
        };
        let (mut inbound, mut outbound_pieces) = (Joiner::default(), Joiner::default());
        for recorded_frame in recorded {
            let frame = recorded_frame;
            if frame.kind == "close" {
                continue;
            }
            match frame.dir {
                Direction::In if frame.truncated => plan.skipped += 1,
                Direction::In => {
                    let whole = inbound.push(&frame.bytes, false);
                    plan.inbound(frame.bytes.clone(), whole.as_ref().map(|(whole, _)| whole));
                }
                Direction::Out => {
                    if let Some((whole, cut)) = outbound_pieces.push(&frame.bytes, frame.truncated)
                    {
                        let len = if cut || frame.truncated {
                            frame.len
                        } else {
                            whole.len()
                        };
                        plan.outbound(whole, cut || frame.truncated, len);
                    }
                }
            }
        }
        if plan.hello.is_empty() {
            // No recorded hello (a file cut short at its head): this build's.
            plan.hello = codec::encode(&Frame::Hello(Hello {
                min_version: MIN_PROTOCOL_VERSION,
                max_version: PROTOCOL_VERSION,
                features: Features::all().names(),
                limits: handshake::limits(&SessionConfig::default()),
            }))
            .unwrap_or_default();
        }
        plan
    }

    /// A recorded inbound message (`piece`), and the message it completes.
    fn inbound(&mut self, piece: Bytes, whole: Option<&Bytes>) {
        let mut answers_server = None;
        if let Some(whole) = whole
            && let Ok(decoded) = codec::decode(whole, usize::MAX)
        {
            match decoded.frame {
                Frame::Hello(_) if self.hello.is_empty() => {
                    self.hello = piece;
                    return;
                }
                Frame::Call(call) => {
                    self.requests
                        .push((call.id, "call", Some(call.method.to_owned())));
                }
                Frame::Open(open) => {
                    self.requests
                        .push((open.id, "open", Some(open.method.to_owned())));
                }
                Frame::Discover(discover) => self.requests.push((discover.id, "discover", None)),
                Frame::Cast(_) | Frame::Notify(_) => self.casts += 1,
                Frame::Reply(Reply { id })
                | Frame::Described(Described { id })
                | Frame::Accepted(Accepted { id }) => answers_server = Some(id),
                Frame::Error(error) if error.id != 0 => answers_server = Some(error.id),
                Frame::Item(StreamRef { id, to }) | Frame::End(StreamRef { id, to })
                    if to == Side::Caller =>
                {
                    answers_server = Some(id);
                }
                Frame::Credit(credit) if credit.to == Side::Caller => {
                    answers_server = Some(credit.id);
                }
                _ => {}
            }
        }
        self.steps.push(Step {
            bytes: piece,
            after: self.answered.len(),
            answers_server,
        });
    }

    /// A recorded outbound message, whole.
    fn outbound(&mut self, whole: Bytes, truncated: bool, len: usize) {
        match outbound(&whole) {
            Outbound::Answer { id, last } => {
                self.recorded
                    .entry(id)
                    .or_default()
                    .push(Answer::new(whole, truncated, len));
                if last {
                    self.answered.push(id);
                }
            }
            Outbound::Refusal => self
                .recorded_refusals
                .push(Answer::new(whole, truncated, len)),
            Outbound::Request(_) | Outbound::Other => {}
        }
    }

    pub(super) fn report(
        mut self,
        recorded: &Recorded,
        mut answers: HashMap<u64, Vec<Answer>>,
        refusals: Vec<Answer>,
    ) -> ReplayReport {
        let calls = self
            .requests
            .into_iter()
            .map(|(id, kind, method)| ReplayedCall {
                id,
                kind: kind.to_owned(),
                method,
                recorded: self.recorded.remove(&id).unwrap_or_default(),
                replayed: answers.remove(&id).unwrap_or_default(),
            })
            .collect();
        ReplayReport {
            calls,
            casts: self.casts,
            recorded_refusals: self.recorded_refusals,
            refusals,
            skipped: self.skipped,
            dropped: recorded.dropped,
        }
    }
}
