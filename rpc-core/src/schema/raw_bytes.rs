//! Values serde writes with `serialize_bytes`: a length, then the bytes
//! ([`Type::Bytes`]), rather than a sequence of `u8`s.

use std::ffi::{CStr, CString};

use super::{Schema, Type, Types};

/// The schema of a value written with serde's `serialize_bytes`, to name
/// in `#[schema(as = rpc::schema::RawBytes)]` where a serde attribute hides
/// it: a `Vec<u8>` field with `#[serde(with = "serde_bytes")]`, or with
/// `serialize_with` a function that calls `serialize_bytes` (the derive's
/// documentation has an example).
///
/// It has no values: it only describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawBytes {}

macro_rules! bytes {
    ($($rust:ty),* $(,)?) => {
        $(
            impl Schema for $rust {
                fn describe(_: &mut Types) -> Type {
                    Type::Bytes
                }
            }
        )*
    };
}

// `Bytes` and `BytesMut` with the `bytes/serde` feature; C strings always.
bytes!(RawBytes, bytes::Bytes, bytes::BytesMut, CString, CStr);
