//! Bounds on what one frame header may carry: how many headers and features,
//! how long a name. A message's size is already capped by the receiver's
//! `max_message_size`, but a count is not: one byte on the wire (an empty
//! string) becomes a 16 to 48 byte element in memory, so a 16 MiB message of
//! empty strings could cost hundreds of MiB to decode. With these bounds a
//! header decodes in a few KiB whatever it declares.
//!
//! Decoding checks each bounded field with a visitor that looks at the
//! declared length before it allocates anything (postcard reports the exact
//! count of a sequence up front) and counts as it goes, so a frame over a
//! bound costs nothing. Encoding checks the same bounds, so a peer that
//! follows them is never refused.

use std::{cell::Cell, fmt, marker::PhantomData};

use serde::de::{self, Deserializer, SeqAccess, Visitor};

use super::Frame;

/// Metadata headers in one `Call`, `Cast` or `Open`, at most. Headers carry
/// trace ids, tokens and the like; a few are normal, 64 is generous.
pub const MAX_HEADERS: usize = 64;

/// Length in bytes of a header name, at most.
pub const MAX_HEADER_NAME: usize = 256;

/// Length in bytes of a header value, at most: room for a bearer token or a
/// trace context, the same as the common cap on one HTTP header line.
pub const MAX_HEADER_VALUE: usize = 8 * 1024;

/// Length in bytes of a method or topic name, at most. Names are Rust paths
/// such as `Chat.join`; a quarter KiB is far beyond any real one.
pub const MAX_NAME: usize = 256;

/// Features in one `Hello` or `Welcome`, at most. Features are short flags
/// for optional protocol behaviour; a handful exist at any time.
pub const MAX_FEATURES: usize = 32;

/// Length in bytes of a feature name, at most.
pub const MAX_FEATURE_NAME: usize = 64;

/// A field over its bound: what was measured, what was found, the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Violation {
    pub(crate) what: &'static str,
    pub(crate) size: usize,
    pub(crate) max: usize,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} exceeds the bound of {}",
            self.what, self.size, self.max
        )
    }
}

thread_local! {
    /// The violation a visitor refused on, for the codec to report. postcard
    /// turns a visitor's error into a bare `SerdeDeCustom` and drops the
    /// message, so the typed cause travels beside the error instead.
    /// Decoding runs on one thread from start to end, so this is the
    /// violation of the current decode.
    static VIOLATION: Cell<Option<Violation>> = const { Cell::new(None) };
}

/// Takes the violation the last refused decode on this thread recorded.
pub(crate) fn take_violation() -> Option<Violation> {
    VIOLATION.take()
}

fn refuse<E: de::Error>(violation: Violation) -> E {
    VIOLATION.set(Some(violation));
    E::custom(violation)
}

fn check(what: &'static str, size: usize, max: usize) -> Result<(), Violation> {
    if size > max {
        Err(Violation { what, size, max })
    } else {
        Ok(())
    }
}

impl Frame<'_> {
    /// Checks the bounds above, for a frame about to be encoded.
    pub(crate) fn check_bounds(&self) -> Result<(), Violation> {
        match self {
            Frame::Hello(hello) => features(&hello.features),
            Frame::Welcome(welcome) => features(&welcome.features),
            Frame::Call(call) => name(call.method).and_then(|()| headers(&call.headers)),
            Frame::Cast(cast) => name(cast.method).and_then(|()| headers(&cast.headers)),
            Frame::Open(open) => name(open.method).and_then(|()| headers(&open.headers)),
            Frame::Notify(notify) => check("topic name length", notify.topic.len(), MAX_NAME),
            _ => Ok(()),
        }
    }
}

fn name(method: &str) -> Result<(), Violation> {
    check("method name length", method.len(), MAX_NAME)
}

fn header((name, value): &(&str, &str)) -> Result<(), Violation> {
    check("header name length", name.len(), MAX_HEADER_NAME)?;
    check("header value length", value.len(), MAX_HEADER_VALUE)
}

fn headers(headers: &[(&str, &str)]) -> Result<(), Violation> {
    check("header count", headers.len(), MAX_HEADERS)?;
    headers.iter().try_for_each(header)
}

fn feature(name: &&str) -> Result<(), Violation> {
    check("feature name length", name.len(), MAX_FEATURE_NAME)
}

fn features(features: &[String]) -> Result<(), Violation> {
    check("feature count", features.len(), MAX_FEATURES)?;
    features
        .iter()
        .map(String::as_str)
        .try_for_each(|f| feature(&f))
}

/// Decodes a method name within [`MAX_NAME`].
pub(super) fn method<'de, D: Deserializer<'de>>(d: D) -> Result<&'de str, D::Error> {
    let method = <&str as de::Deserialize>::deserialize(d)?;
    name(method).map_err(refuse)?;
    Ok(method)
}

/// Decodes a topic name within [`MAX_NAME`].
pub(super) fn topic<'de, D: Deserializer<'de>>(d: D) -> Result<&'de str, D::Error> {
    let topic = <&str as de::Deserialize>::deserialize(d)?;
    check("topic name length", topic.len(), MAX_NAME).map_err(refuse)?;
    Ok(topic)
}

/// Decodes headers within [`MAX_HEADERS`], [`MAX_HEADER_NAME`] and
/// [`MAX_HEADER_VALUE`].
pub(super) fn header_list<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<(&'de str, &'de str)>, D::Error> {
    d.deserialize_seq(Bounded {
        what: "header count",
        max: MAX_HEADERS,
        check: header,
        owned: |pair| pair,
        item: PhantomData,
    })
}

/// Decodes features within [`MAX_FEATURES`] and [`MAX_FEATURE_NAME`]; each
/// name is checked while still borrowed, before it is copied.
pub(super) fn feature_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_seq(Bounded {
        what: "feature count",
        max: MAX_FEATURES,
        check: feature,
        owned: str::to_owned,
        item: PhantomData,
    })
}

/// A sequence of at most `max` elements, each decoded borrowed as `B`,
/// checked, then kept as `T`.
struct Bounded<B, T> {
    what: &'static str,
    max: usize,
    check: fn(&B) -> Result<(), Violation>,
    owned: fn(B) -> T,
    item: PhantomData<fn() -> (B, T)>,
}

impl<'de, B: de::Deserialize<'de>, T> Visitor<'de> for Bounded<B, T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a sequence of at most {} elements", self.max)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let declared = seq.size_hint().unwrap_or(0);
        check(self.what, declared, self.max).map_err(refuse)?;
        let mut items = Vec::with_capacity(declared);
        while let Some(item) = seq.next_element::<B>()? {
            // Counting too: a format without an exact hint (postcard gives
            // none when the declared count outruns the bytes left) is still
            // refused at the first element over the bound.
            check(self.what, items.len() + 1, self.max).map_err(refuse)?;
            (self.check)(&item).map_err(refuse)?;
            items.push((self.owned)(item));
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Call, Hello, Limits};

    #[test]
    fn a_frame_within_every_bound_passes() {
        let value = "v".repeat(MAX_HEADER_VALUE);
        let headers = vec![("n", value.as_str()); MAX_HEADERS];
        let method = "m".repeat(MAX_NAME);
        let call = Frame::Call(Call {
            id: 1,
            method: &method,
            headers,
        });
        assert_eq!(call.check_bounds(), Ok(()));
    }

    #[test]
    fn each_bound_is_checked_before_encoding() {
        let hello = Frame::Hello(Hello {
            min_version: 1,
            max_version: 1,
            features: vec!["f".repeat(MAX_FEATURE_NAME + 1)],
            limits: Limits {
                max_message_size: 0,
                max_in_flight: 0,
                max_reassembly: 0,
                max_partials: 0,
            },
        });
        assert_eq!(
            hello.check_bounds(),
            Err(Violation {
                what: "feature name length",
                size: MAX_FEATURE_NAME + 1,
                max: MAX_FEATURE_NAME
            })
        );
    }
}
