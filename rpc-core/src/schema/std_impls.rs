//! [`Schema`] for the standard library's types, as serde serializes them to
//! a serializer that is not human-readable, as postcard is: each impl
//! follows serde's `Serialize` impl of the type (`serde/src/ser/impls.rs`),
//! so an address is its octets, not its text.

use std::{
    borrow::Cow,
    cell::{Cell, RefCell},
    cmp::Reverse,
    collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque},
    marker::PhantomData,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6},
    num::{
        NonZeroI8, NonZeroI16, NonZeroI32, NonZeroI64, NonZeroI128, NonZeroIsize, NonZeroU8,
        NonZeroU16, NonZeroU32, NonZeroU64, NonZeroU128, NonZeroUsize, Saturating, Wrapping,
    },
    ops::{Bound, Range, RangeFrom, RangeInclusive, RangeTo},
    path::{Path, PathBuf},
    rc::Rc,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{
            AtomicBool, AtomicI8, AtomicI16, AtomicI32, AtomicI64, AtomicIsize, AtomicU8,
            AtomicU16, AtomicU32, AtomicU64, AtomicUsize,
        },
    },
    time::{Duration, SystemTime},
};

use super::{Field, Schema, Shape, Type, Types, Variant, VariantShape};

macro_rules! primitive {
    ($($rust:ty => $ty:ident),* $(,)?) => {
        $(
            impl Schema for $rust {
                fn describe(_: &mut Types) -> Type {
                    Type::$ty
                }
            }
        )*
    };
}

primitive! {
    () => Unit, bool => Bool,
    i8 => I8, i16 => I16, i32 => I32, i64 => I64, i128 => I128,
    u8 => U8, u16 => U16, u32 => U32, u64 => U64, u128 => U128,
    f32 => F32, f64 => F64, char => Char, String => String, str => String,
    // serde writes the pointer-sized integers as 64 bits.
    isize => I64, usize => U64,
    // Non-zero integers and atomics as the plain integer.
    NonZeroI8 => I8, NonZeroI16 => I16, NonZeroI32 => I32, NonZeroI64 => I64,
    NonZeroI128 => I128, NonZeroIsize => I64,
    NonZeroU8 => U8, NonZeroU16 => U16, NonZeroU32 => U32, NonZeroU64 => U64,
    NonZeroU128 => U128, NonZeroUsize => U64,
    AtomicBool => Bool, AtomicI8 => I8, AtomicI16 => I16, AtomicI32 => I32, AtomicI64 => I64,
    AtomicIsize => I64, AtomicU8 => U8, AtomicU16 => U16, AtomicU32 => U32, AtomicU64 => U64,
    AtomicUsize => U64,
    // A path is its UTF-8 text (serde refuses one that is not).
    Path => String, PathBuf => String,
}

/// Types serde writes as the value they hold.
macro_rules! transparent {
    ($($(#[$doc:meta])* [$($generics:tt)*] $rust:ty => $inner:ty;)*) => {
        $(
            $(#[$doc])*
            impl<$($generics)*> Schema for $rust {
                fn describe(types: &mut Types) -> Type {
                    <$inner>::describe(types)
                }
            }
        )*
    };
}

transparent! {
    [T: Schema + ?Sized] &T => T;
    [T: Schema + ?Sized] &mut T => T;
    [T: Schema + ?Sized] Box<T> => T;
    [T: Schema + ?Sized] Rc<T> => T;
    [T: Schema + ?Sized] Arc<T> => T;
    [T: Schema + ToOwned + ?Sized] Cow<'_, T> => T;
    [T: Schema] Cell<T> => T;
    [T: Schema + ?Sized] RefCell<T> => T;
    [T: Schema + ?Sized] Mutex<T> => T;
    [T: Schema + ?Sized] RwLock<T> => T;
    [T: Schema] Wrapping<T> => T;
    [T: Schema] Saturating<T> => T;
    [T: Schema] Reverse<T> => T;
}

impl<T: ?Sized> Schema for PhantomData<T> {
    /// serde writes a unit struct, which postcard encodes as nothing and
    /// JSON as `null`, as it does `()`; one definition per `T` would only
    /// add noise.
    fn describe(_: &mut Types) -> Type {
        Type::Unit
    }
}

impl<T: Schema> Schema for Option<T> {
    fn describe(types: &mut Types) -> Type {
        Type::Option(Box::new(T::describe(types)))
    }
}

/// Types serde writes as a sequence: a count, then the elements.
macro_rules! seq {
    ($([$($generics:tt)*] $rust:ty;)*) => {
        $(
            impl<$($generics)*> Schema for $rust {
                fn describe(types: &mut Types) -> Type {
                    Type::Seq(Box::new(T::describe(types)))
                }
            }
        )*
    };
}

seq! {
    [T: Schema] [T];
    [T: Schema] Vec<T>;
    [T: Schema] VecDeque<T>;
    [T: Schema] LinkedList<T>;
    [T: Schema] BinaryHeap<T>;
    [T: Schema] BTreeSet<T>;
    [T: Schema, S] HashSet<T, S>;
}

impl<K: Schema, V: Schema> Schema for BTreeMap<K, V> {
    fn describe(types: &mut Types) -> Type {
        map::<K, V>(types)
    }
}

impl<K: Schema, V: Schema, S> Schema for HashMap<K, V, S> {
    fn describe(types: &mut Types) -> Type {
        map::<K, V>(types)
    }
}

fn map<K: Schema, V: Schema>(types: &mut Types) -> Type {
    Type::Map {
        key: Box::new(K::describe(types)),
        value: Box::new(V::describe(types)),
    }
}

/// serde writes an array as a tuple: the elements, no count.
impl<T: Schema, const N: usize> Schema for [T; N] {
    fn describe(types: &mut Types) -> Type {
        Type::Array {
            item: Box::new(T::describe(types)),
            // serde implements `Serialize` up to 32 elements.
            len: u32::try_from(N).unwrap_or(u32::MAX),
        }
    }
}

macro_rules! tuple {
    ($($name:ident)+) => {
        impl<$($name: Schema),+> Schema for ($($name,)+) {
            fn describe(types: &mut Types) -> Type {
                Type::Tuple(vec![$($name::describe(types)),+])
            }
        }
    };
}

tuple!(T0);
tuple!(T0 T1);
tuple!(T0 T1 T2);
tuple!(T0 T1 T2 T3);
tuple!(T0 T1 T2 T3 T4);
tuple!(T0 T1 T2 T3 T4 T5);
tuple!(T0 T1 T2 T3 T4 T5 T6);
tuple!(T0 T1 T2 T3 T4 T5 T6 T7);
tuple!(T0 T1 T2 T3 T4 T5 T6 T7 T8);
tuple!(T0 T1 T2 T3 T4 T5 T6 T7 T8 T9);
tuple!(T0 T1 T2 T3 T4 T5 T6 T7 T8 T9 T10);
tuple!(T0 T1 T2 T3 T4 T5 T6 T7 T8 T9 T10 T11);
tuple!(T0 T1 T2 T3 T4 T5 T6 T7 T8 T9 T10 T11 T12);
tuple!(T0 T1 T2 T3 T4 T5 T6 T7 T8 T9 T10 T11 T12 T13);
tuple!(T0 T1 T2 T3 T4 T5 T6 T7 T8 T9 T10 T11 T12 T13 T14);
tuple!(T0 T1 T2 T3 T4 T5 T6 T7 T8 T9 T10 T11 T12 T13 T14 T15);

/// serde writes a `Result` as the enum `Result { Ok(T), Err(E) }`.
impl<T: Schema, E: Schema> Schema for Result<T, E> {
    fn describe(types: &mut Types) -> Type {
        types.named::<Self>("", |types| {
            Shape::Enum(vec![
                newtype_variant("Ok", 0, T::describe(types)),
                newtype_variant("Err", 1, E::describe(types)),
            ])
        })
    }
}

/// serde writes a `Bound` as the enum of its variants.
impl<T: Schema> Schema for Bound<T> {
    fn describe(types: &mut Types) -> Type {
        types.named::<Self>("", |types| {
            let inner = T::describe(types);
            Shape::Enum(vec![
                Variant::new("Unbounded", "", 0, VariantShape::Unit),
                newtype_variant("Included", 1, inner.clone()),
                newtype_variant("Excluded", 2, inner),
            ])
        })
    }
}

fn newtype_variant(name: &str, index: u32, ty: Type) -> Variant {
    Variant::new(name, "", index, VariantShape::Newtype(ty))
}

/// Ranges are structs of their ends.
macro_rules! range {
    ($($rust:ident { $($field:literal),+ })*) => {
        $(
            impl<Idx: Schema> Schema for $rust<Idx> {
                fn describe(types: &mut Types) -> Type {
                    types.named::<Self>("", |types| {
                        let end = Idx::describe(types);
                        Shape::Struct(vec![$(Field::new($field, "", end.clone())),+])
                    })
                }
            }
        )*
    };
}

range! {
    Range { "start", "end" }
    RangeFrom { "start" }
    RangeInclusive { "start", "end" }
    RangeTo { "end" }
}

impl Schema for Duration {
    fn describe(types: &mut Types) -> Type {
        types.named::<Self>("A span of time.", |_| {
            Shape::Struct(vec![
                Field::new("secs", "Whole seconds.", Type::U64),
                Field::new("nanos", "Nanoseconds past them, below 10^9.", Type::U32),
            ])
        })
    }
}

impl Schema for SystemTime {
    fn describe(types: &mut Types) -> Type {
        types.named::<Self>("A moment, since the Unix epoch.", |_| {
            Shape::Struct(vec![
                Field::new("secs_since_epoch", "Whole seconds.", Type::U64),
                Field::new(
                    "nanos_since_epoch",
                    "Nanoseconds past them, below 10^9.",
                    Type::U32,
                ),
            ])
        })
    }
}

/// Its four octets.
impl Schema for Ipv4Addr {
    fn describe(_: &mut Types) -> Type {
        octets(4)
    }
}

/// Its sixteen octets.
impl Schema for Ipv6Addr {
    fn describe(_: &mut Types) -> Type {
        octets(16)
    }
}

fn octets(len: u32) -> Type {
    Type::Array {
        item: Box::new(Type::U8),
        len,
    }
}

/// The tuple `(address, port)`.
impl Schema for SocketAddrV4 {
    fn describe(types: &mut Types) -> Type {
        Type::Tuple(vec![Ipv4Addr::describe(types), Type::U16])
    }
}

/// The tuple `(address, port)`: serde leaves out the flow info and the
/// scope id.
impl Schema for SocketAddrV6 {
    fn describe(types: &mut Types) -> Type {
        Type::Tuple(vec![Ipv6Addr::describe(types), Type::U16])
    }
}

/// The enum `IpAddr { V4(Ipv4Addr), V6(Ipv6Addr) }`.
impl Schema for IpAddr {
    fn describe(types: &mut Types) -> Type {
        types.named::<Self>("An IP address.", |types| {
            Shape::Enum(vec![
                newtype_variant("V4", 0, Ipv4Addr::describe(types)),
                newtype_variant("V6", 1, Ipv6Addr::describe(types)),
            ])
        })
    }
}

/// The enum `SocketAddr { V4(SocketAddrV4), V6(SocketAddrV6) }`.
impl Schema for SocketAddr {
    fn describe(types: &mut Types) -> Type {
        types.named::<Self>("An IP address and a port.", |types| {
            Shape::Enum(vec![
                newtype_variant("V4", 0, SocketAddrV4::describe(types)),
                newtype_variant("V6", 1, SocketAddrV6::describe(types)),
            ])
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use serde::Serialize;

    use super::*;
    use crate::schema::RouterSchema;

    /// The definitions a description made.
    fn definitions(types: Types) -> Vec<super::super::Definition> {
        RouterSchema::new(types, Vec::new()).types
    }

    /// `value` encodes to `expected` postcard bytes (pinning what the
    /// schema claims about the encoding).
    fn encodes<T: Serialize + Debug>(value: &T, expected: &[u8]) {
        assert_eq!(postcard::to_allocvec(value).unwrap(), expected, "{value:?}");
    }

    #[test]
    fn wrappers_describe_as_what_they_hold() {
        let mut types = Types::new();
        assert_eq!(types.describe::<Box<str>>(), Type::String);
        assert_eq!(types.describe::<Arc<[u8]>>(), Type::Seq(Box::new(Type::U8)));
        assert_eq!(types.describe::<Cow<'_, Path>>(), Type::String);
        assert_eq!(types.describe::<Mutex<Wrapping<u16>>>(), Type::U16);
        assert_eq!(types.describe::<NonZeroUsize>(), Type::U64);
        assert_eq!(types.describe::<PhantomData<dyn Debug>>(), Type::Unit);
        assert_eq!(
            types.describe::<HashMap<String, BTreeSet<i8>>>(),
            Type::Map {
                key: Box::new(Type::String),
                value: Box::new(Type::Seq(Box::new(Type::I8)))
            }
        );
        assert!(definitions(types).is_empty());
        encodes(&usize::MAX, &postcard::to_allocvec(&u64::MAX).unwrap());
        encodes(&NonZeroU16::new(300).unwrap(), &[0xac, 0x02]);
    }

    #[test]
    fn arrays_and_tuples_have_no_count() {
        let mut types = Types::new();
        assert_eq!(
            types.describe::<[u8; 3]>(),
            Type::Array {
                item: Box::new(Type::U8),
                len: 3
            }
        );
        assert_eq!(
            types.describe::<(u8, String, ())>(),
            Type::Tuple(vec![Type::U8, Type::String, Type::Unit])
        );
        encodes(&[1u8, 2, 3], &[1, 2, 3]);
        encodes(&(7u8, "a", ()), &[7, 1, b'a']);
    }

    #[test]
    fn addresses_are_octets_and_ports() {
        let mut types = Types::new();
        assert_eq!(types.describe::<Ipv4Addr>(), octets(4));
        assert_eq!(
            types.describe::<SocketAddr>(),
            Type::Named("SocketAddr".to_owned())
        );
        let definitions = definitions(types);
        assert_eq!(definitions.len(), 1);
        let Shape::Enum(variants) = &definitions[0].shape else {
            panic!("{definitions:?}");
        };
        assert_eq!(
            variants[1].shape,
            VariantShape::Newtype(Type::Tuple(vec![octets(16), Type::U16]))
        );
        encodes(
            &SocketAddr::from(([10, 0, 0, 1], 8080)),
            &[0, 10, 0, 0, 1, 0x90, 0x3f],
        );
        encodes(&IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), &{
            let mut bytes = [0; 17];
            bytes[0] = 1;
            bytes[16] = 1;
            bytes
        });
    }

    #[test]
    fn results_times_and_ranges_are_named() {
        let mut types = Types::new();
        assert_eq!(
            types.describe::<Result<u8, String>>(),
            Type::Named("Result<u8, String>".to_owned())
        );
        assert_eq!(
            types.describe::<Duration>(),
            Type::Named("Duration".to_owned())
        );
        assert_eq!(
            types.describe::<Range<u32>>(),
            Type::Named("Range<u32>".to_owned())
        );
        let definitions = definitions(types);
        let names: Vec<&str> = definitions.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["Duration", "Range<u32>", "Result<u8, String>"]);
        let Shape::Enum(variants) = &definitions[2].shape else {
            panic!("{definitions:?}");
        };
        assert_eq!((variants[1].name.as_str(), variants[1].index), ("Err", 1));
        encodes(&Result::<u8, String>::Err("x".into()), &[1, 1, b'x']);
        encodes(&Duration::new(2, 5), &[2, 5]);
        encodes(&(1u32..300), &[1, 0xac, 0x02]);
    }
}
