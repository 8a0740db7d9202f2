//! The worked examples of docs/protocol.md, checked against the codec so the
//! document cannot drift from the code.

use crate::protocol::{
    Call, Cancel, Credit, Described, Discover, ErrorCode, ErrorFrame, Fragment, Frame, Hello,
    Limits, Open, Reply, Side, StreamRef, Welcome,
};

/// The examples in the order they appear in docs/protocol.md: the frame and
/// the postcard bytes of its payload.
fn expected() -> Vec<(Frame<'static>, Vec<u8>)> {
    vec![
        (
            Frame::Hello(Hello {
                min_version: 2,
                max_version: 2,
                features: Vec::new(),
                limits: Limits {
                    max_message_size: 1 << 20,
                    max_in_flight: 64,
                    max_reassembly: 4 << 20,
                    max_partials: 16,
                },
            }),
            vec![],
        ),
        (
            Frame::Welcome(Welcome {
                version: 2,
                session_id: 300,
                features: Vec::new(),
                limits: Limits {
                    max_message_size: 16 << 20,
                    max_in_flight: 256,
                    max_reassembly: 32 << 20,
                    max_partials: 16,
                },
            }),
            vec![],
        ),
        (
            Frame::Call(Call {
                id: 1,
                method: "add",
                headers: Vec::new(),
            }),
            postcard::to_allocvec(&(2i64, -3i64)).expect("encodes"),
        ),
        (
            Frame::Reply(Reply { id: 1 }),
            postcard::to_allocvec(&-1i64).expect("encodes"),
        ),
        (
            Frame::Call(Call {
                id: 2,
                method: "echo",
                headers: vec![("trace", "x1")],
            }),
            postcard::to_allocvec(&("hi",)).expect("encodes"),
        ),
        (
            Frame::Error(ErrorFrame {
                id: 2,
                code: ErrorCode::UNKNOWN_METHOD,
                message: "no method named `echo`",
            }),
            vec![],
        ),
        (Frame::Cancel(Cancel { id: 1 }), vec![]),
        (Frame::Discover(Discover { id: 3 }), vec![]),
        (
            Frame::Described(Described { id: 3 }),
            // The plain answer, to a peer without the `schemas` feature.
            crate::metadata::DiscoverAnswer::new(&[crate::metadata::RouterInfo::new(
                "Calc",
                "",
                &EXAMPLE_METHODS,
            )])
            .for_features(super::Features::default())
            .to_vec(),
        ),
    ]
    .into_iter()
    .chain(stream_examples())
    .chain([schema_example()])
    .collect()
}

/// Example 15: the answer of example 9 with schemas, for a method taking a
/// struct: `scale(p: Point, k: i32) -> Point`.
fn schema_example() -> (Frame<'static>, Vec<u8>) {
    use crate::schema::{Field, MethodTypes, RouterSchema, Shape, Type, Types};

    struct Point;

    impl crate::Schema for Point {
        fn describe(types: &mut Types) -> Type {
            types.named::<Self>("", |_| {
                Shape::Struct(vec![
                    Field::new("x", "", Type::I32),
                    Field::new("y", "", Type::I32),
                ])
            })
        }
    }

    static PARAMS: [crate::metadata::ParamInfo; 2] = [
        crate::metadata::ParamInfo::new("p", "Point"),
        crate::metadata::ParamInfo::new("k", "i32"),
    ];
    static METHODS: [crate::metadata::MethodInfo; 1] = [crate::metadata::MethodInfo::new(
        "scale",
        crate::metadata::MethodKind::Call,
        &PARAMS,
        "Point",
        "",
        None,
    )];
    let mut types = Types::new();
    let point = types.describe::<Point>();
    let method = MethodTypes {
        params: vec![point.clone(), Type::I32],
        returns: Some(point),
        ..MethodTypes::default()
    };
    let schema = RouterSchema::new(types, vec![method]);
    let info = crate::metadata::RouterInfo::new("Geo", "", &METHODS).with_schema(Some(&schema));
    let answer = crate::metadata::DiscoverAnswer::new(&[info]);
    (
        Frame::Described(Described { id: 3 }),
        answer.for_features(super::Features::all()).to_vec(),
    )
}

/// Examples 10 to 14: streams and fragments.
fn stream_examples() -> Vec<(Frame<'static>, Vec<u8>)> {
    vec![
        (
            Frame::Open(Open {
                id: 4,
                method: "ticks",
                headers: Vec::new(),
                credit: 32,
            }),
            postcard::to_allocvec(&(100u64,)).expect("encodes"),
        ),
        (
            Frame::Item(StreamRef {
                id: 4,
                to: Side::Caller,
            }),
            postcard::to_allocvec(&7u64).expect("encodes"),
        ),
        (
            Frame::Credit(Credit {
                id: 4,
                to: Side::Callee,
                items: 16,
            }),
            vec![],
        ),
        (
            Frame::End(StreamRef {
                id: 4,
                to: Side::Caller,
            }),
            vec![],
        ),
        (
            Frame::Fragment(Fragment {
                message: 0,
                last: false,
            }),
            vec![0x04, 0x01],
        ),
    ]
}

static EXAMPLE_PARAMS: [crate::metadata::ParamInfo; 1] =
    [crate::metadata::ParamInfo::new("x", "i64")];
static EXAMPLE_METHODS: [crate::metadata::MethodInfo; 1] = [crate::metadata::MethodInfo::new(
    "neg",
    crate::metadata::MethodKind::Call,
    &EXAMPLE_PARAMS,
    "i64",
    "",
    None,
)];

/// The hex blocks of the document, in order, as bytes.
fn document_examples() -> Vec<Vec<u8>> {
    let doc = include_str!("../../../docs/protocol.md");
    let mut examples = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```hex" {
            continue;
        }
        let mut bytes = Vec::new();
        for line in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            let data = line.split('#').next().unwrap_or_default();
            for pair in data.split_whitespace() {
                bytes.push(u8::from_str_radix(pair, 16).expect("hex byte in docs/protocol.md"));
            }
        }
        examples.push(bytes);
    }
    examples
}

#[test]
fn every_hex_example_in_the_protocol_document_decodes_as_described() {
    let examples = document_examples();
    let expected = expected();
    assert_eq!(
        examples.len(),
        expected.len(),
        "one expected frame per hex block"
    );
    for (index, (bytes, (frame, payload))) in examples.iter().zip(&expected).enumerate() {
        let message = bytes::Bytes::copy_from_slice(bytes);
        let decoded = crate::codec::decode(&message, usize::MAX)
            .unwrap_or_else(|err| panic!("example {}: {err}", index + 1));
        assert_eq!(&decoded.frame, frame, "example {}", index + 1);
        assert_eq!(
            &decoded.payload[..],
            &payload[..],
            "example {} payload",
            index + 1
        );
    }
}

/// Prints the examples as the document shows them:
/// `cargo test -p wsduplex-core print_protocol_examples -- --ignored --nocapture`.
#[test]
#[ignore = "a generator for docs/protocol.md, not a check"]
fn print_protocol_examples() {
    for (frame, payload) in expected() {
        let bytes = if frame.has_payload() {
            crate::codec::encode_raw(&frame, &payload).expect("encodes")
        } else {
            crate::codec::encode(&frame).expect("encodes")
        };
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        println!("{frame:?}\n{}\n", hex.join(" "));
    }
}
