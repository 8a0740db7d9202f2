//! Type schemas: the shape of every value a method takes and gives, so that
//! a peer without the Rust types (a script, the `rpc` command-line tool, a
//! client in another language) can build arguments and read answers.
//!
//! postcard is not self-describing: its bytes say nothing of the type they
//! encode. A [`Type`] says it, in the terms of serde's data model, which is
//! exactly what postcard encodes (docs/protocol.md, "Type schemas"). Named
//! types (structs and enums) are [`Definition`]s listed once per router and
//! referred to by name, which is how recursive types are described.
//!
//! Schemas are derived at compile time: `#[derive(rpc::Schema)]` implements
//! [`Schema`] for a type, this module implements it for the standard
//! library's types, and `#[rpc::router]` describes every parameter, return,
//! error and stream item of its methods through it. A [`MethodSchema`]
//! carries a hash of everything it refers to, which a stub sends on its first
//! call of a method so that a server whose method changed shape answers
//! `incompatible schema` instead of decoding garbage.

pub(crate) mod check;
mod depth;
mod describe;
mod display;
mod hash;
mod json;
mod raw_bytes;
mod std_impls;

use serde::{Deserialize, Serialize};

pub use depth::MAX_TYPE_DEPTH;
pub use describe::{Schema, Types};
pub use json::{
    JsonKind, MAX_JSON_DEPTH, TranscodeError, TranscodeErrorKind, args_to_postcard, from_postcard,
    to_postcard,
};
pub use raw_bytes::RawBytes;

/// The shape of a value on the wire. On the wire, a postcard enum whose
/// variant indexes are fixed; new shapes will only be appended. A peer's
/// types nest at most [`MAX_TYPE_DEPTH`] deep (`depth`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[non_exhaustive]
pub enum Type {
    /// 0: `()`: no bytes.
    Unit,
    /// 1: one byte, `00` or `01`.
    Bool,
    /// 2: one byte, two's complement.
    I8,
    /// 3: zigzag varint.
    I16,
    /// 4: zigzag varint.
    I32,
    /// 5: zigzag varint.
    I64,
    /// 6: zigzag varint.
    I128,
    /// 7: one byte.
    U8,
    /// 8: varint.
    U16,
    /// 9: varint.
    U32,
    /// 10: varint.
    U64,
    /// 11: varint.
    U128,
    /// 12: 4 bytes, little-endian IEEE 754.
    F32,
    /// 13: 8 bytes, little-endian IEEE 754.
    F64,
    /// 14: a Unicode scalar value, encoded as a string of its UTF-8 bytes.
    Char,
    /// 15: varint length, then UTF-8 bytes.
    String,
    /// 16: varint length, then the bytes (serde's `serialize_bytes`:
    /// `bytes::Bytes`, `serde_bytes`); a `Vec<u8>` is a [`Type::Seq`] of
    /// [`Type::U8`] instead, with the same bytes on the wire.
    Bytes,
    /// 17: `00` for none, `01` then the value.
    Option(Box<Type>),
    /// 18: varint count, then each element.
    Seq(Box<Type>),
    /// 19: varint count, then each key followed by its value.
    Map {
        /// The keys' type.
        key: Box<Type>,
        /// The values' type.
        value: Box<Type>,
    },
    /// 20: the elements in order, no prefix (a tuple).
    Tuple(Vec<Type>),
    /// 21: `len` elements in order, no prefix (a fixed-size array).
    Array {
        /// The elements' type.
        item: Box<Type>,
        /// How many there are.
        len: u32,
    },
    /// 22: a struct or enum, by the name of its [`Definition`].
    Named(String),
}

/// A named type: a struct or an enum, with its doc comment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Definition {
    /// The name [`Type::Named`] refers to it by: the Rust type's name
    /// without its module path (`Point`, `Page<Item>`), or the full path when
    /// two types of one router share that name.
    pub name: String,
    /// Doc comment of the type.
    pub docs: String,
    /// What it holds.
    pub shape: Shape,
}

/// What a named type holds. On the wire, an enum with fixed indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Shape {
    /// 0: `struct Marker;`: no bytes.
    UnitStruct,
    /// 1: `struct Meters(f64);`: encoded as the inner value.
    Newtype(Type),
    /// 2: `struct Pair(i64, String);`: the fields in order.
    TupleStruct(Vec<Type>),
    /// 3: `struct Point { x: i32, y: i32 }`: the fields in order.
    Struct(Vec<Field>),
    /// 4: an enum: the variant's index as a varint, then its content.
    Enum(Vec<Variant>),
}

/// A named field of a struct or of a struct variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Field {
    /// Its name as serde writes it (after `#[serde(rename)]`), which is the
    /// key in JSON.
    pub name: String,
    /// Doc comment of the field.
    pub docs: String,
    /// Its type.
    pub ty: Type,
}

impl Field {
    /// A field.
    pub fn new(name: impl Into<String>, docs: impl Into<String>, ty: Type) -> Self {
        Self {
            name: name.into(),
            docs: docs.into(),
            ty,
        }
    }
}

/// One variant of an enum.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Variant {
    /// Its name as serde writes it, the key in JSON.
    pub name: String,
    /// Doc comment of the variant.
    pub docs: String,
    /// The index postcard writes for it: its position among the variants
    /// as declared, skipped ones included.
    pub index: u32,
    /// What it holds.
    pub shape: VariantShape,
}

impl Variant {
    /// A variant.
    pub fn new(
        name: impl Into<String>,
        docs: impl Into<String>,
        index: u32,
        shape: VariantShape,
    ) -> Self {
        Self {
            name: name.into(),
            docs: docs.into(),
            index,
            shape,
        }
    }
}

/// What an enum variant holds. On the wire, an enum with fixed indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum VariantShape {
    /// 0: nothing: `Empty`.
    Unit,
    /// 1: one value: `Some(T)`.
    Newtype(Type),
    /// 2: values in order: `Rect(f64, f64)`.
    Tuple(Vec<Type>),
    /// 3: named fields in order: `Circle { r: f64 }`.
    Struct(Vec<Field>),
}

/// The types of one method: what its arguments, answers, errors and
/// stream items are, and a hash of them all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MethodSchema {
    /// One type per wire parameter, in order (the argument tuple); their
    /// names are in [`MethodInfo::params`](crate::MethodInfo::params).
    pub params: Vec<Type>,
    /// The value of the `Reply`: `T` of a method returning `T` or
    /// `Result<T, E>`, the one answer of a client stream; [`Type::Unit`] for
    /// casts and for streams of answers, which send items instead.
    pub returns: Type,
    /// `E` of an application error (code 3) the call or the opening of the
    /// stream may fail with.
    pub error: Option<Type>,
    /// The type of the answer items of a stream.
    pub item: Option<Type>,
    /// `E` of an application error that ends a stream of `Result<T, E>`
    /// items.
    pub item_error: Option<Type>,
    /// The type of the items the caller uploads (`Incoming<U>`).
    pub upload: Option<Type>,
    /// A hash of everything above and of every definition it refers to,
    /// names and shapes, docs excluded (see [`MethodSchema::compute_hash`]).
    pub hash: u64,
}

/// The schemas of one router: the definitions of its named types, and one
/// [`MethodSchema`] per method in the order of
/// [`RouterInfo::methods`](crate::RouterInfo::methods).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RouterSchema {
    /// Every named type the methods refer to, sorted by name.
    pub types: Vec<Definition>,
    /// One per method, in declaration order.
    pub methods: Vec<MethodSchema>,
}

/// The types of a method as `#[rpc::router]` describes them, before the
/// hash is taken.
#[derive(Debug, Clone, Default)]
#[doc(hidden)]
pub struct MethodTypes {
    /// See [`MethodSchema::params`].
    pub params: Vec<Type>,
    /// See [`MethodSchema::returns`].
    pub returns: Option<Type>,
    /// See [`MethodSchema::error`].
    pub error: Option<Type>,
    /// See [`MethodSchema::item`].
    pub item: Option<Type>,
    /// See [`MethodSchema::item_error`].
    pub item_error: Option<Type>,
    /// See [`MethodSchema::upload`].
    pub upload: Option<Type>,
}

impl RouterSchema {
    /// Finishes the schemas of a router: takes the definitions out of
    /// `types` and hashes each method.
    pub fn new(types: Types, methods: Vec<MethodTypes>) -> Self {
        let types = types.into_definitions();
        let methods = methods
            .into_iter()
            .map(|method| {
                let mut schema = MethodSchema {
                    params: method.params,
                    returns: method.returns.unwrap_or(Type::Unit),
                    error: method.error,
                    item: method.item,
                    item_error: method.item_error,
                    upload: method.upload,
                    hash: 0,
                };
                schema.hash = schema.compute_hash(&types);
                schema
            })
            .collect();
        Self { types, methods }
    }

    /// The definition of a named type.
    pub fn definition(&self, name: &str) -> Option<&Definition> {
        find_definition(&self.types, name)
    }
}

/// The definition named `name` among `types`, sorted by name as a
/// [`RouterSchema`] or [`RouterInfo::types`](crate::RouterInfo::types) keeps
/// them.
pub fn find_definition<'a>(types: &'a [Definition], name: &str) -> Option<&'a Definition> {
    types
        .binary_search_by(|definition| definition.name.as_str().cmp(name))
        .ok()
        .map(|index| &types[index])
}
