//! `#[derive(rpc::Schema)]` against what serde and postcard really write:
//! the described types and definitions, and a schema-driven walk over the
//! postcard bytes of values that must consume exactly all of them.

use std::{collections::BTreeMap, marker::PhantomData, net::SocketAddr, time::Duration};

use rpc::schema::{
    Definition, Field, RawBytes, RouterSchema, Shape, Type, Types, Variant, VariantShape,
};
use serde::{Deserialize, Serialize};

/// The root type of `T` and the definitions it made.
fn describe<T: rpc::Schema>() -> (Type, RouterSchema) {
    let mut types = Types::new();
    let root = types.describe::<T>();
    (root, RouterSchema::new(types, Vec::new()))
}

fn named(name: &str) -> Type {
    Type::Named(name.to_owned())
}

fn definition<'a>(schema: &'a RouterSchema, name: &str) -> &'a Definition {
    schema
        .definition(name)
        .unwrap_or_else(|| panic!("no definition {name}: {:?}", schema.types))
}

fn fields(definition: &Definition) -> &[Field] {
    match &definition.shape {
        Shape::Struct(fields) => fields,
        other => panic!("not a struct: {other:?}"),
    }
}

fn variants(definition: &Definition) -> &[Variant] {
    match &definition.shape {
        Shape::Enum(variants) => variants,
        other => panic!("not an enum: {other:?}"),
    }
}

/// Encodes `value` with postcard and walks the bytes by `T`'s schema,
/// which must end exactly at the last byte.
fn walks_exactly<T: rpc::Schema + Serialize + std::fmt::Debug>(value: &T) {
    let (root, schema) = describe::<T>();
    let bytes = postcard::to_allocvec(value).unwrap();
    let mut rest = bytes.as_slice();
    if let Err(error) = skip(&root, &schema.types, &mut rest) {
        panic!("{value:?} ({bytes:02x?}) does not follow its schema: {error}");
    }
    assert!(
        rest.is_empty(),
        "{value:?}: {} bytes left over of {bytes:02x?}",
        rest.len()
    );
}

// A schema-driven skipper of postcard bytes: reads past one value of a
// type, checking what it can (tags, indexes, UTF-8).

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if bytes.len() < n {
        return Err(format!("wanted {n} bytes, {} left", bytes.len()));
    }
    let (head, tail) = bytes.split_at(n);
    *bytes = tail;
    Ok(head)
}

/// An unsigned LEB128 varint of at most `max` bytes.
fn varint(bytes: &mut &[u8], max: usize) -> Result<u128, String> {
    let mut value = 0u128;
    for i in 0..max {
        let byte = take(bytes, 1)?[0];
        value |= u128::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint too long".to_owned())
}

fn length(bytes: &mut &[u8]) -> Result<usize, String> {
    usize::try_from(varint(bytes, 10)?).map_err(|e| e.to_string())
}

fn skip(ty: &Type, definitions: &[Definition], bytes: &mut &[u8]) -> Result<(), String> {
    match ty {
        Type::Unit => {}
        Type::Bool => match take(bytes, 1)?[0] {
            0 | 1 => {}
            other => return Err(format!("bool {other}")),
        },
        Type::I8 | Type::U8 => {
            take(bytes, 1)?;
        }
        Type::I16 | Type::U16 => {
            varint(bytes, 3)?;
        }
        Type::I32 | Type::U32 => {
            varint(bytes, 5)?;
        }
        Type::I64 | Type::U64 => {
            varint(bytes, 10)?;
        }
        Type::I128 | Type::U128 => {
            varint(bytes, 19)?;
        }
        Type::F32 => {
            take(bytes, 4)?;
        }
        Type::F64 => {
            take(bytes, 8)?;
        }
        Type::Char | Type::String => {
            let n = length(bytes)?;
            std::str::from_utf8(take(bytes, n)?).map_err(|e| e.to_string())?;
        }
        Type::Bytes => {
            let n = length(bytes)?;
            take(bytes, n)?;
        }
        Type::Option(inner) => match take(bytes, 1)?[0] {
            0 => {}
            1 => skip(inner, definitions, bytes)?,
            other => return Err(format!("option tag {other}")),
        },
        Type::Seq(item) => {
            for _ in 0..length(bytes)? {
                skip(item, definitions, bytes)?;
            }
        }
        Type::Map { key, value } => {
            for _ in 0..length(bytes)? {
                skip(key, definitions, bytes)?;
                skip(value, definitions, bytes)?;
            }
        }
        Type::Tuple(items) => {
            for item in items {
                skip(item, definitions, bytes)?;
            }
        }
        Type::Array { item, len } => {
            for _ in 0..*len {
                skip(item, definitions, bytes)?;
            }
        }
        Type::Named(name) => {
            let definition = rpc::schema::find_definition(definitions, name)
                .ok_or_else(|| format!("no definition {name}"))?;
            skip_shape(&definition.shape, definitions, bytes)?;
        }
        other => return Err(format!("unknown type {other:?}")),
    }
    Ok(())
}

fn skip_shape(shape: &Shape, definitions: &[Definition], bytes: &mut &[u8]) -> Result<(), String> {
    match shape {
        Shape::UnitStruct => Ok(()),
        Shape::Newtype(ty) => skip(ty, definitions, bytes),
        Shape::TupleStruct(items) => skip(&Type::Tuple(items.clone()), definitions, bytes),
        Shape::Struct(fields) => fields
            .iter()
            .try_for_each(|field| skip(&field.ty, definitions, bytes)),
        Shape::Enum(variants) => {
            let index = varint(bytes, 5)?;
            let variant = variants
                .iter()
                .find(|variant| u128::from(variant.index) == index)
                .ok_or_else(|| format!("no variant {index}"))?;
            match &variant.shape {
                VariantShape::Unit => Ok(()),
                VariantShape::Newtype(ty) => skip(ty, definitions, bytes),
                VariantShape::Tuple(items) => skip(&Type::Tuple(items.clone()), definitions, bytes),
                VariantShape::Struct(fields) => fields
                    .iter()
                    .try_for_each(|field| skip(&field.ty, definitions, bytes)),
                other => Err(format!("unknown variant shape {other:?}")),
            }
        }
        other => Err(format!("unknown shape {other:?}")),
    }
}

// The types.

/// An order of lines.
#[derive(Debug, Serialize, Deserialize, rpc::Schema)]
struct Order {
    /// Who ordered.
    customer: String,
    /// What, if anything yet.
    lines: Option<Vec<Line>>,
    totals: BTreeMap<String, (u32, f64)>,
    placed: Duration,
    from: SocketAddr,
    outcome: Result<u64, Refusal>,
}

#[derive(Debug, Clone, Serialize, Deserialize, rpc::Schema)]
struct Line {
    sku: [u8; 4],
    status: Status,
}

/// Where a line is.
#[derive(Debug, Clone, Serialize, Deserialize, rpc::Schema)]
enum Status {
    /// Not yet sent.
    Waiting,
    Sent(u64),
    Split(u8, Box<Status>),
    Lost {
        since: i64,
        reason: Option<String>,
    },
}

#[derive(Debug, Serialize, Deserialize, rpc::Schema)]
struct Refusal(String);

/// Arithmetic.
#[derive(Debug, Serialize, Deserialize, rpc::Schema)]
enum Expr {
    Num(i64),
    Add(Box<Expr>, Box<Expr>),
}

/// One page of `T`.
#[derive(Debug, Serialize, Deserialize, rpc::Schema)]
struct Page<T, M = ()>
where
    T: Clone,
{
    items: Vec<T>,
    next: Option<u64>,
    #[serde(skip)]
    marker: PhantomData<M>,
}

#[derive(Debug, Clone, Serialize, Deserialize, rpc::Schema)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE", rename_all_fields = "camelCase")]
enum Event {
    UserJoined {
        user_id: u64,
        #[serde(rename = "NICK")]
        nick_name: String,
    },
    #[serde(rename_all = "PascalCase")]
    UserLeft { user_id: u64 },
    #[serde(rename = "ping")]
    Ping,
    /// Never on the wire: the last variant, so the others keep their
    /// indexes both ways.
    #[serde(skip)]
    #[allow(dead_code)] // reason: only ever skipped
    Local(u8),
}

#[derive(Debug, Serialize, Deserialize, rpc::Schema)]
#[serde(rename_all = "camelCase")]
struct Profile {
    r#type: u8,
    display_name: String,
    #[serde(skip)]
    #[allow(dead_code)] // reason: skipped, never read
    cache: Vec<u8>,
    #[serde(skip_serializing, skip_deserializing)]
    #[allow(dead_code)] // reason: skipped, never read
    also_cache: u8,
    #[serde(serialize_with = "as_bytes")]
    #[schema(as = RawBytes)]
    avatar: Vec<u8>,
    meters: Meters,
    #[serde(default, alias = "old")]
    tuple: Pair,
}

fn as_bytes<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(bytes)
}

#[derive(Debug, Serialize, Deserialize, rpc::Schema)]
#[serde(transparent)]
struct Meters {
    value: f64,
}

#[derive(Debug, Default, Serialize, Deserialize, rpc::Schema)]
struct Pair(
    i8,
    #[serde(skip)]
    #[allow(dead_code)]
    u8,
    String,
);

/// Converted through a string.
#[derive(Debug, Clone, Serialize, Deserialize, rpc::Schema)]
#[serde(into = "String", try_from = "String")]
#[schema(as = String)]
struct Email {
    user: String,
    host: String,
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        format!("{}@{}", email.user, email.host)
    }
}

impl TryFrom<String> for Email {
    type Error = &'static str;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let (user, host) = text.split_once('@').ok_or("no @")?;
        Ok(Email {
            user: user.to_owned(),
            host: host.to_owned(),
        })
    }
}

#[derive(Debug, Serialize, Deserialize, rpc::Schema)]
struct Ping;

// The tests.

#[test]
fn nested_types_are_defined_once_each_with_their_docs() {
    let (root, schema) = describe::<Order>();
    assert_eq!(root, named("Order"));
    let order = definition(&schema, "Order");
    assert_eq!(order.docs, "An order of lines.");
    let order_fields = fields(order);
    assert_eq!(
        order_fields[0],
        Field::new("customer", "Who ordered.", Type::String)
    );
    assert_eq!(
        order_fields[1].ty,
        Type::Option(Box::new(Type::Seq(Box::new(named("Line")))))
    );
    assert_eq!(order_fields[1].docs, "What, if anything yet.");
    assert_eq!(
        order_fields[2].ty,
        Type::Map {
            key: Box::new(Type::String),
            value: Box::new(Type::Tuple(vec![Type::U32, Type::F64])),
        }
    );
    assert_eq!(order_fields[5].ty, named("Result<u64, Refusal>"));
    assert_eq!(
        fields(definition(&schema, "Line"))[0].ty,
        Type::Array {
            item: Box::new(Type::U8),
            len: 4
        }
    );
    let status = definition(&schema, "Status");
    assert_eq!(status.docs, "Where a line is.");
    assert_eq!(
        variants(status)[0],
        Variant::new("Waiting", "Not yet sent.", 0, VariantShape::Unit)
    );
    assert_eq!(
        variants(status)[2].shape,
        VariantShape::Tuple(vec![Type::U8, named("Status")])
    );
    assert_eq!(
        definition(&schema, "Refusal").shape,
        Shape::Newtype(Type::String)
    );
    let names: Vec<&str> = schema.types.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Duration",
            "Line",
            "Order",
            "Refusal",
            "Result<u64, Refusal>",
            "SocketAddr",
            "Status"
        ]
    );
}

#[test]
fn a_recursive_enum_refers_to_itself() {
    let (root, schema) = describe::<Expr>();
    assert_eq!(root, named("Expr"));
    assert_eq!(schema.types.len(), 1);
    assert_eq!(
        schema.types[0].shape,
        Shape::Enum(vec![
            Variant::new("Num", "", 0, VariantShape::Newtype(Type::I64)),
            Variant::new(
                "Add",
                "",
                1,
                VariantShape::Tuple(vec![named("Expr"), named("Expr")])
            ),
        ])
    );
}

#[test]
fn generic_types_are_named_by_their_arguments() {
    let mut types = Types::new();
    assert_eq!(types.describe::<Page<Line>>(), named("Page<Line>"));
    assert_eq!(
        types.describe::<Page<String, Ping>>(),
        named("Page<String, Ping>")
    );
    let schema = RouterSchema::new(types, Vec::new());
    let page = definition(&schema, "Page<Line>");
    assert_eq!(
        fields(page),
        [
            Field::new("items", "", Type::Seq(Box::new(named("Line")))),
            Field::new("next", "", Type::Option(Box::new(Type::U64))),
        ]
    );
    // `M` is only in a skipped `PhantomData`: no `M: Schema` needed, and
    // no definition of `Ping`.
    assert!(schema.definition("Ping").is_none());
}

#[test]
fn renames_follow_serde() {
    let (_, schema) = describe::<Event>();
    let event = variants(definition(&schema, "Event"));
    let names: Vec<(&str, u32)> = event.iter().map(|v| (v.name.as_str(), v.index)).collect();
    assert_eq!(names, [("USER-JOINED", 0), ("USER-LEFT", 1), ("ping", 2)]);
    assert_eq!(
        event[0].shape,
        VariantShape::Struct(vec![
            Field::new("userId", "", Type::U64),
            Field::new("NICK", "", Type::String),
        ])
    );
    assert_eq!(
        event[1].shape,
        VariantShape::Struct(vec![Field::new("UserId", "", Type::U64)])
    );
    // The names are serde's: JSON shows them.
    let json = serde_json::to_value(Event::UserJoined {
        user_id: 1,
        nick_name: "a".into(),
    })
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!({"USER-JOINED": {"userId": 1, "NICK": "a"}})
    );
}

#[test]
fn skipped_transparent_and_custom_fields() {
    let (_, schema) = describe::<Profile>();
    let profile = fields(definition(&schema, "Profile"));
    assert_eq!(
        profile,
        [
            Field::new("type", "", Type::U8),
            Field::new("displayName", "", Type::String),
            Field::new("avatar", "", Type::Bytes),
            Field::new("meters", "", Type::F64),
            Field::new("tuple", "", named("Pair")),
        ]
    );
    assert!(schema.definition("Meters").is_none());
    assert_eq!(
        definition(&schema, "Pair").shape,
        Shape::TupleStruct(vec![Type::I8, Type::String])
    );
    assert_eq!(describe::<Email>().0, Type::String);
    assert_eq!(describe::<Ping>().1.types[0].shape, Shape::UnitStruct);
}

#[test]
fn the_schemas_walk_postcard_bytes_exactly() {
    walks_exactly(&Order {
        customer: "ada".into(),
        lines: Some(vec![
            Line {
                sku: *b"ab12",
                status: Status::Split(2, Box::new(Status::Sent(300))),
            },
            Line {
                sku: [0; 4],
                status: Status::Lost {
                    since: -5,
                    reason: Some("rain".into()),
                },
            },
            Line {
                sku: [9; 4],
                status: Status::Waiting,
            },
        ]),
        totals: BTreeMap::from([("eur".into(), (3, 2.5)), ("usd".into(), (u32::MAX, -1.0))]),
        placed: Duration::new(1_700_000_000, 999_999_999),
        from: "[::1]:8080".parse().unwrap(),
        outcome: Err(Refusal("no".into())),
    });
    walks_exactly(&Order {
        customer: String::new(),
        lines: None,
        totals: BTreeMap::new(),
        placed: Duration::ZERO,
        from: "10.0.0.1:1".parse().unwrap(),
        outcome: Ok(u64::MAX),
    });
    walks_exactly(&Expr::Add(
        Box::new(Expr::Num(i64::MIN)),
        Box::new(Expr::Add(Box::new(Expr::Num(1)), Box::new(Expr::Num(-1)))),
    ));
    walks_exactly(&Page::<Event> {
        items: vec![
            Event::UserJoined {
                user_id: 7,
                nick_name: "bo".into(),
            },
            Event::UserLeft { user_id: 7 },
            Event::Ping,
        ],
        next: Some(2),
        marker: PhantomData,
    });
    walks_exactly(&Profile {
        r#type: 3,
        display_name: "Ada".into(),
        cache: vec![1, 2, 3],
        also_cache: 4,
        avatar: vec![0xff; 200],
        meters: Meters { value: 1.5 },
        tuple: Pair(-1, 9, "x".into()),
    });
    walks_exactly(&Email {
        user: "ada".into(),
        host: "example.org".into(),
    });
    walks_exactly(&(Ping, 'é', [1u16, 300], -70_000i32));
}

/// Why a skipped variant must come last: serde writes the declared
/// position but reads the position among the variants it reads, so a
/// variant after a skipped one comes back as another (the derive refuses
/// such an enum).
#[test]
fn serde_reads_variant_positions_among_the_unskipped() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Shifted {
        A,
        #[serde(skip)]
        #[allow(dead_code)] // reason: only ever skipped
        B,
        C,
        D,
    }
    let bytes = postcard::to_allocvec(&Shifted::C).unwrap();
    assert_eq!(bytes, [2]);
    assert_eq!(postcard::from_bytes::<Shifted>(&bytes).unwrap(), Shifted::D);
}

/// Generated code names everything by absolute paths.
mod hygiene {
    #![no_implicit_prelude]

    #[derive(::rpc::Schema)]
    #[allow(dead_code)] // reason: only described
    enum Tree<T> {
        Leaf(T),
        Node { children: ::std::vec::Vec<Tree<T>> },
    }

    #[test]
    fn compiles_without_the_prelude() {
        let mut types = ::rpc::schema::Types::new();
        ::std::assert_eq!(
            types.describe::<Tree<u8>>(),
            ::rpc::schema::Type::Named(::std::borrow::ToOwned::to_owned("Tree<u8>"))
        );
    }
}
