//! The JSON transcoder against `serde_json` and postcard themselves: for
//! values whose integers JavaScript holds exactly, the transcoder's JSON is
//! `serde_json::to_value`'s and its bytes are `postcard::to_allocvec`'s;
//! beyond that, JSON -> postcard -> JSON is the identity; and no bytes make
//! it panic or recurse without end.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use proptest::prelude::*;
use rpc_core::Schema;
use rpc_core::schema::{
    Definition, Field, RouterSchema, Shape, Type, Types, Variant, VariantShape, from_postcard,
    to_postcard,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Marker;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Meters(f64);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pair(i64, String);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Figure {
    Empty,
    Circle { r: f64 },
    Rect(f32, f32),
    Label(String),
    Mark(Marker),
}

/// `bytes::Bytes` as the convention has it: base64 in JSON (a
/// human-readable format), a byte string in postcard.
#[derive(Debug, Clone, PartialEq)]
struct Blob(Bytes);

impl Serialize for Blob {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&STANDARD.encode(&self.0))
        } else {
            serializer.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = Blob;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes, or base64 text")
            }

            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Blob, E> {
                Ok(Blob(Bytes::copy_from_slice(bytes)))
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Blob, E> {
                STANDARD
                    .decode(text)
                    .map(|bytes| Blob(Bytes::from(bytes)))
                    .map_err(E::custom)
            }
        }

        if deserializer.is_human_readable() {
            deserializer.deserialize_str(Visitor)
        } else {
            deserializer.deserialize_bytes(Visitor)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Everything {
    flag: bool,
    small: (i8, u8, i16, u16),
    ints: (i32, u32, i64, u64),
    wide: (i128, u128),
    floats: (f32, f64),
    letter: char,
    name: String,
    blob: Blob,
    raw: Vec<u8>,
    maybe: Option<Point>,
    points: Vec<Point>,
    by_name: BTreeMap<String, Figure>,
    by_id: BTreeMap<i64, Vec<Option<u16>>>,
    by_char: BTreeMap<char, bool>,
    by_flag: BTreeMap<bool, u8>,
    grid: [[u8; 2]; 3],
    pair: Pair,
    meters: Meters,
    marker: Marker,
    figures: Vec<Figure>,
}

/// A recursive type, through a sequence and through an option.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Tree {
    label: String,
    children: Vec<Tree>,
    next: Option<Box<Tree>>,
}

/// A map whose keys are no strings in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TupleKeys {
    map: BTreeMap<(u8, String), Point>,
}

// Hand-written schemas: the derive is being written elsewhere, and the
// standard library's tuples, maps and arrays may not describe themselves yet.

fn field(name: &str, ty: Type) -> Field {
    Field::new(name, "", ty)
}

fn boxed(ty: Type) -> Box<Type> {
    Box::new(ty)
}

fn map(key: Type, value: Type) -> Type {
    Type::Map {
        key: boxed(key),
        value: boxed(value),
    }
}

impl Schema for Point {
    fn describe(types: &mut Types) -> Type {
        types.named::<Self>("A point.", |_| {
            Shape::Struct(vec![field("x", Type::I32), field("y", Type::I32)])
        })
    }
}

impl Schema for Marker {
    fn describe(types: &mut Types) -> Type {
        types.named::<Self>("", |_| Shape::UnitStruct)
    }
}

impl Schema for Meters {
    fn describe(types: &mut Types) -> Type {
        types.named::<Self>("", |_| Shape::Newtype(Type::F64))
    }
}

impl Schema for Pair {
    fn describe(types: &mut Types) -> Type {
        types.named::<Self>("", |_| Shape::TupleStruct(vec![Type::I64, Type::String]))
    }
}

impl Schema for Figure {
    fn describe(types: &mut Types) -> Type {
        types.named::<Self>("", |types| {
            let marker = types.describe::<Marker>();
            Shape::Enum(vec![
                Variant::new("Empty", "", 0, VariantShape::Unit),
                Variant::new(
                    "Circle",
                    "",
                    1,
                    VariantShape::Struct(vec![field("r", Type::F64)]),
                ),
                Variant::new(
                    "Rect",
                    "",
                    2,
                    VariantShape::Tuple(vec![Type::F32, Type::F32]),
                ),
                Variant::new("Label", "", 3, VariantShape::Newtype(Type::String)),
                Variant::new("Mark", "", 4, VariantShape::Newtype(marker)),
            ])
        })
    }
}

impl Schema for Everything {
    fn describe(types: &mut Types) -> Type {
        types.named::<Self>("", |types| {
            let point = types.describe::<Point>();
            let figure = types.describe::<Figure>();
            Shape::Struct(vec![
                field("flag", Type::Bool),
                field(
                    "small",
                    Type::Tuple(vec![Type::I8, Type::U8, Type::I16, Type::U16]),
                ),
                field(
                    "ints",
                    Type::Tuple(vec![Type::I32, Type::U32, Type::I64, Type::U64]),
                ),
                field("wide", Type::Tuple(vec![Type::I128, Type::U128])),
                field("floats", Type::Tuple(vec![Type::F32, Type::F64])),
                field("letter", Type::Char),
                field("name", Type::String),
                field("blob", Type::Bytes),
                field("raw", Type::Seq(boxed(Type::U8))),
                field("maybe", Type::Option(boxed(point.clone()))),
                field("points", Type::Seq(boxed(point))),
                field("by_name", map(Type::String, figure.clone())),
                field(
                    "by_id",
                    map(Type::I64, Type::Seq(boxed(Type::Option(boxed(Type::U16))))),
                ),
                field("by_char", map(Type::Char, Type::Bool)),
                field("by_flag", map(Type::Bool, Type::U8)),
                field(
                    "grid",
                    Type::Array {
                        item: boxed(Type::Array {
                            item: boxed(Type::U8),
                            len: 2,
                        }),
                        len: 3,
                    },
                ),
                field("pair", types.describe::<Pair>()),
                field("meters", types.describe::<Meters>()),
                field("marker", types.describe::<Marker>()),
                field("figures", Type::Seq(boxed(figure))),
            ])
        })
    }
}

impl Schema for Tree {
    fn describe(types: &mut Types) -> Type {
        types.named::<Self>("", |types| {
            let tree = types.describe::<Tree>();
            Shape::Struct(vec![
                field("label", Type::String),
                field("children", Type::Seq(boxed(tree.clone()))),
                field("next", Type::Option(boxed(tree))),
            ])
        })
    }
}

impl Schema for TupleKeys {
    fn describe(types: &mut Types) -> Type {
        types.named::<Self>("", |types| {
            let key = Type::Tuple(vec![Type::U8, Type::String]);
            Shape::Struct(vec![field("map", map(key, types.describe::<Point>()))])
        })
    }
}

/// The type of `T` and the definitions it refers to.
fn schema<T: Schema>() -> (Type, Vec<Definition>) {
    let mut types = Types::new();
    let ty = types.describe::<T>();
    (ty, RouterSchema::new(types, Vec::new()).types)
}

// Strategies.

/// The largest magnitude JSON numbers carry exactly.
const SAFE: i64 = (1 << 53) - 1;

fn i64s(big: bool) -> BoxedStrategy<i64> {
    if big {
        any::<i64>().boxed()
    } else {
        (-SAFE..=SAFE).boxed()
    }
}

fn u64s(big: bool) -> BoxedStrategy<u64> {
    if big {
        any::<u64>().boxed()
    } else {
        (0..=SAFE.cast_unsigned()).boxed()
    }
}

fn wide(big: bool) -> BoxedStrategy<(i128, u128)> {
    if big {
        (any::<i128>(), any::<u128>()).boxed()
    } else {
        (i64s(false), u64s(false))
            .prop_map(|(i, u)| (i128::from(i), u128::from(u)))
            .boxed()
    }
}

/// Finite floats, and with `special` also NaN and the infinities, which
/// `serde_json` writes as `null`.
fn f64s(special: bool) -> BoxedStrategy<f64> {
    let finite = any::<f64>().prop_filter("finite", |f| f.is_finite());
    if special {
        prop_oneof![
            4 => finite,
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
        ]
        .boxed()
    } else {
        finite.boxed()
    }
}

fn f32s(special: bool) -> BoxedStrategy<f32> {
    #[allow(clippy::cast_possible_truncation)] // the strategy's f64s are f32s
    f64s(special)
        .prop_map(|f| f as f32)
        .prop_filter("no new infinity", move |f| special || f.is_finite())
        .boxed()
}

fn point() -> impl Strategy<Value = Point> {
    (any::<i32>(), any::<i32>()).prop_map(|(x, y)| Point { x, y })
}

fn figure(special: bool) -> impl Strategy<Value = Figure> {
    prop_oneof![
        Just(Figure::Empty),
        f64s(special).prop_map(|r| Figure::Circle { r }),
        (f32s(special), f32s(special)).prop_map(|(w, h)| Figure::Rect(w, h)),
        ".{0,8}".prop_map(Figure::Label),
        Just(Figure::Mark(Marker)),
    ]
}

/// Values of `Everything`; `big` lets 64- and 128-bit integers leave the
/// range JSON numbers carry exactly, and floats be NaN or infinite.
fn everything(big: bool) -> impl Strategy<Value = Everything> {
    let scalars = (
        any::<bool>(),
        (any::<i8>(), any::<u8>(), any::<i16>(), any::<u16>()),
        (any::<i32>(), any::<u32>(), i64s(big), u64s(big)),
        wide(big),
        (f32s(big), f64s(big)),
        any::<char>(),
        ".{0,12}",
        proptest::collection::vec(any::<u8>(), 0..8),
        proptest::collection::vec(any::<u8>(), 0..8),
    );
    let nested = (
        proptest::option::of(point()),
        proptest::collection::vec(point(), 0..4),
        proptest::collection::btree_map(".{0,6}", figure(big), 0..4),
        proptest::collection::btree_map(
            i64s(big),
            proptest::collection::vec(proptest::option::of(any::<u16>()), 0..3),
            0..4,
        ),
        proptest::collection::btree_map(any::<char>(), any::<bool>(), 0..4),
        proptest::collection::btree_map(any::<bool>(), any::<u8>(), 0..3),
        any::<[[u8; 2]; 3]>(),
        (i64s(big), ".{0,6}").prop_map(|(n, s)| Pair(n, s)),
        f64s(big).prop_map(Meters),
        proptest::collection::vec(figure(big), 0..4),
    );
    (scalars, nested).prop_map(
        |(
            (flag, small, ints, wide, floats, letter, name, blob, raw),
            (maybe, points, by_name, by_id, by_char, by_flag, grid, pair, meters, figures),
        )| Everything {
            flag,
            small,
            ints,
            wide,
            floats,
            letter,
            name,
            blob: Blob(Bytes::from(blob)),
            raw,
            maybe,
            points,
            by_name,
            by_id,
            by_char,
            by_flag,
            grid,
            pair,
            meters,
            marker: Marker,
            figures,
        },
    )
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = ".{0,4}".prop_map(|label| Tree {
        label,
        children: Vec::new(),
        next: None,
    });
    leaf.prop_recursive(4, 24, 3, |inner| {
        (
            ".{0,4}",
            proptest::collection::vec(inner.clone(), 0..3),
            proptest::option::of(inner),
        )
            .prop_map(|(label, children, next)| Tree {
                label,
                children,
                next: next.map(Box::new),
            })
    })
}

fn tuple_keys() -> impl Strategy<Value = TupleKeys> {
    proptest::collection::btree_map((any::<u8>(), ".{0,4}"), point(), 0..4)
        .prop_map(|map| TupleKeys { map })
}

/// Properties (1) and (2) for one value, and the JSON read back by
/// `serde_json`.
fn agrees_with_serde_json<T>(value: &T) -> Result<(), TestCaseError>
where
    T: Schema + Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let (ty, types) = schema::<T>();
    let json = serde_json::to_value(value).unwrap();
    let bytes = postcard::to_allocvec(value).unwrap();
    prop_assert_eq!(&to_postcard(&json, &ty, &types).unwrap(), &bytes);
    let decoded = from_postcard(&bytes, &ty, &types).unwrap();
    prop_assert_eq!(&decoded, &json);
    prop_assert_eq!(&serde_json::from_value::<T>(decoded).unwrap(), value);
    Ok(())
}

/// Property (3) for one value: bytes -> JSON -> bytes -> JSON changes
/// nothing.
fn round_trips<T: Schema + Serialize>(value: &T) -> Result<(), TestCaseError> {
    let (ty, types) = schema::<T>();
    let bytes = postcard::to_allocvec(value).unwrap();
    let json = from_postcard(&bytes, &ty, &types).unwrap();
    let again = to_postcard(&json, &ty, &types).unwrap();
    prop_assert_eq!(&again, &bytes);
    prop_assert_eq!(from_postcard(&again, &ty, &types).unwrap(), json);
    Ok(())
}

proptest! {
    #[test]
    fn json_to_postcard_and_back_agree_with_serde_json_and_postcard(value in everything(false)) {
        agrees_with_serde_json(&value)?;
    }

    #[test]
    fn recursive_types_agree_with_serde_json_and_postcard(value in tree()) {
        agrees_with_serde_json(&value)?;
    }

    #[test]
    fn big_integers_and_special_floats_round_trip(value in everything(true)) {
        round_trips(&value)?;
    }

    #[test]
    fn maps_of_tuple_keys_round_trip_as_pairs(value in tuple_keys()) {
        round_trips(&value)?;
        let (ty, types) = schema::<TupleKeys>();
        let json = from_postcard(&postcard::to_allocvec(&value).unwrap(), &ty, &types).unwrap();
        prop_assert_eq!(json["map"].as_array().map(Vec::len), Some(value.map.len()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        for (ty, types) in [schema::<Tree>(), schema::<Everything>(), schema::<TupleKeys>()] {
            let _ = from_postcard(&bytes, &ty, &types);
        }
    }
}

proptest! {
    /// Valid bytes with one byte changed and the end cut: the decoder
    /// walks deep before it fails, unlike with random bytes.
    #[test]
    fn damaged_bytes_never_panic(
        value in everything(true),
        tree in tree(),
        at in any::<proptest::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<proptest::sample::Index>(),
    ) {
        for (mut bytes, (ty, types)) in [
            (postcard::to_allocvec(&value).unwrap(), schema::<Everything>()),
            (postcard::to_allocvec(&tree).unwrap(), schema::<Tree>()),
        ] {
            let at = at.index(bytes.len());
            bytes[at] = byte;
            let _ = from_postcard(&bytes, &ty, &types);
            bytes.truncate(cut.index(bytes.len()));
            let _ = from_postcard(&bytes, &ty, &types);
        }
    }
}

/// Property (4) at its worst: bytes that nest a recursive type as deep as
/// they can, with more bytes than the depth limit lets through.
#[test]
fn deeply_nested_bytes_end_at_the_depth_limit() {
    let (ty, types) = schema::<Tree>();
    // label "", no children, next: Some(...), forever.
    let bytes: Vec<u8> = std::iter::repeat_n([0, 0, 1], 100_000).flatten().collect();
    let error = from_postcard(&bytes, &ty, &types).unwrap_err();
    assert!(
        error.to_string().ends_with("nested deeper than 256 levels"),
        "{error}"
    );
    // label "", children: [ ... ] forever.
    let bytes: Vec<u8> = std::iter::repeat_n([0, 1], 100_000).flatten().collect();
    assert!(from_postcard(&bytes, &ty, &types).is_err());
}

#[test]
fn a_missing_field_is_named_at_its_object() {
    let (ty, types) = schema::<Point>();
    let error = to_postcard(&json!({"x": 1}), &ty, &types).unwrap_err();
    assert_eq!(error.to_string(), "at $: missing field `y`");
}

fn sample() -> Everything {
    Everything {
        flag: true,
        small: (-1, 2, -3, 4),
        ints: (5, 6, -7, 8),
        wide: (-9, 10),
        floats: (1.5, -2.25),
        letter: 'λ',
        name: "name".to_owned(),
        blob: Blob(Bytes::from_static(b"blob")),
        raw: vec![1, 2],
        maybe: None,
        points: vec![Point { x: 0, y: 0 }; 3],
        by_name: BTreeMap::new(),
        by_id: BTreeMap::new(),
        by_char: BTreeMap::new(),
        by_flag: BTreeMap::new(),
        grid: [[0; 2]; 3],
        pair: Pair(1, "one".to_owned()),
        meters: Meters(3.0),
        marker: Marker,
        figures: vec![Figure::Empty],
    }
}

#[test]
fn a_wrong_type_deep_in_an_array_is_named_by_its_path() {
    let (ty, types) = schema::<Everything>();
    let mut json = serde_json::to_value(sample()).unwrap();
    json["points"][2]["x"] = json!("3");
    // A decimal string is an integer too.
    assert!(to_postcard(&json, &ty, &types).is_ok());
    json["points"][2]["x"] = json!("three");
    let error = to_postcard(&json, &ty, &types).unwrap_err();
    assert_eq!(
        error.to_string(),
        "at $.points[2].x: expected an integer (i32), found a string"
    );
    assert_eq!(error.path(), "$.points[2].x");
}

#[test]
fn an_unknown_variant_lists_the_known_ones() {
    let (ty, types) = schema::<Everything>();
    let mut json = serde_json::to_value(sample()).unwrap();
    json["figures"][0] = json!({"Hexagon": 6});
    let error = to_postcard(&json, &ty, &types).unwrap_err();
    assert_eq!(
        error.to_string(),
        "at $.figures[0]: unknown variant `Hexagon`, expected one of `Empty`, `Circle`, `Rect`, \
         `Label`, `Mark`"
    );
    json["figures"][0] = json!({"Circle": {"r": 1.0, "d": 2.0}});
    let error = to_postcard(&json, &ty, &types).unwrap_err();
    assert_eq!(
        error.to_string(),
        "at $.figures[0].Circle: unknown field `d`, expected one of `r`"
    );
}

#[test]
fn a_big_integer_is_a_decimal_string_both_ways() {
    let (ty, types) = schema::<Everything>();
    let mut value = sample();
    value.ints.3 = u64::MAX;
    value.wide = (i128::MIN, u128::MAX);
    let bytes = postcard::to_allocvec(&value).unwrap();
    let json = from_postcard(&bytes, &ty, &types).unwrap();
    assert_eq!(json["ints"][3], json!("18446744073709551615"));
    assert_eq!(
        json["wide"],
        json!([i128::MIN.to_string(), u128::MAX.to_string()])
    );
    assert_eq!(to_postcard(&json, &ty, &types).unwrap(), bytes);
}
