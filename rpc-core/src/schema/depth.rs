//! A bound on how deep a peer's [`Type`]s nest. Each level of
//! `Option<Option<..>>` is one byte on the wire and one stack frame to
//! decode, so a discover answer of nothing but nesting would overflow the
//! stack without it.

use std::cell::Cell;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

use super::Type;

/// The deepest nesting of anonymous types (options, sequences, maps,
/// tuples, arrays) a decoded [`Type`] may have; named types start again
/// from their definition. Deeper is refused as malformed.
pub const MAX_TYPE_DEPTH: u32 = 64;

thread_local! {
    /// How deep the decoding on this thread is.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

impl Serialize for Type {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The derived, inherent `Type::serialize` (`#[serde(remote = "Self")]`).
        Type::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for Type {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let depth = DEPTH.get() + 1;
        if depth > MAX_TYPE_DEPTH {
            return Err(D::Error::custom(format_args!(
                "types nest deeper than {MAX_TYPE_DEPTH} levels"
            )));
        }
        DEPTH.set(depth);
        let decoded = Type::deserialize(deserializer);
        DEPTH.set(depth - 1);
        decoded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_nested_past_the_bound_is_refused_without_overflowing_the_stack() {
        // 17 is `Option`: a megabyte of options, then a unit.
        let mut hostile = vec![17u8; 1 << 20];
        hostile.push(0);
        let err = postcard::from_bytes::<Type>(&hostile).unwrap_err();
        assert!(matches!(err, postcard::Error::SerdeDeCustom), "{err:?}");
        // The bound is not left behind: a legitimate type decodes next.
        let nested = (0..MAX_TYPE_DEPTH - 1).fold(Type::Unit, |ty, _| Type::Option(Box::new(ty)));
        let bytes = postcard::to_allocvec(&nested).unwrap();
        assert_eq!(postcard::from_bytes::<Type>(&bytes).unwrap(), nested);
    }
}
