//! Structs, enums, maps and fallible streams through `rpc`: JSON as
//! `serde_json` writes the same Rust values, named types in `discover`, and
//! `listen --type` naming a type of the server.

mod common;

use std::collections::HashMap;

use common::{Served, fails, rpc, stderr, stdout};
use futures_util::{Stream, StreamExt, stream};
use rpc::{Server, Session};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A point on a plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rpc::Schema)]
struct Point {
    x: i32,
    y: i32,
}

/// What a drawing holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rpc::Schema)]
enum Shape {
    Circle { center: Point, r: f64 },
    Line(Point, Point),
    Empty,
}

/// Why a drawing failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, rpc::Schema)]
enum DrawError {
    TooBig { limit: u32 },
}

impl std::fmt::Display for DrawError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

struct Canvas;

/// Draws shapes.
#[rpc::router]
impl Canvas {
    /// Counts the shapes by kind, with their labels.
    #[rpc::call]
    async fn tally(
        &self,
        shapes: Vec<Shape>,
        labels: HashMap<String, Option<u8>>,
    ) -> Result<HashMap<String, u32>, DrawError> {
        if shapes.len() > 3 {
            return Err(DrawError::TooBig { limit: 3 });
        }
        let mut tally = HashMap::new();
        for shape in &shapes {
            let kind = match shape {
                Shape::Circle { .. } => "circle",
                Shape::Line(..) => "line",
                Shape::Empty => "empty",
            };
            *tally.entry(kind.to_owned()).or_insert(0) += 1;
        }
        tally.insert("labels".to_owned(), u32::try_from(labels.len()).unwrap());
        Ok(tally)
    }

    /// Points along the x axis, failing at `fail_at`.
    #[rpc::stream]
    fn walk(&self, fail_at: i32) -> impl Stream<Item = Result<Point, DrawError>> + Send + 'static {
        let _ = self;
        stream::iter(0..).map(move |x| {
            if x == fail_at {
                Err(DrawError::TooBig { limit: 7 })
            } else {
                Ok(Point { x, y: 0 })
            }
        })
    }

    /// Pushes `count` points on topic `points`.
    #[rpc::call]
    async fn spray(&self, session: &Session, count: i32) -> i32 {
        for x in 0..count {
            let _ = session.peer().notify("points", &Point { x, y: x }).await;
        }
        count
    }
}

fn canvas() -> Served {
    Served::start(|| Server::builder().mount(Canvas))
}

#[test]
fn structs_enums_and_maps_go_in_and_come_out_as_json() {
    let served = canvas();
    let args = json!([
        [
            {"Circle": {"center": {"x": 0, "y": 0}, "r": 1.5}},
            {"Line": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]},
            "Empty"
        ],
        {"a": 1, "b": null}
    ]);
    let output = rpc()
        .args(["call", &served.url, "tally", &args.to_string()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let answer: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        answer,
        json!({"circle": 1, "line": 1, "empty": 1, "labels": 2})
    );
}

#[test]
fn a_typed_error_is_decoded_and_a_bad_variant_is_named() {
    let served = canvas();
    let too_many = r#"[["Empty", "Empty", "Empty", "Empty"], {}]"#;
    let error = fails(rpc().args(["call", &served.url, "tally", too_many]), 1);
    let error: serde_json::Value = serde_json::from_str(&error).unwrap();
    assert_eq!(error["data"], json!({"TooBig": {"limit": 3}}));
    let square = r#"{"shapes": ["Square"], "labels": {}}"#;
    let message = fails(rpc().args(["call", &served.url, "tally", square]), 2);
    assert!(message.contains("$.shapes[0]"), "{message}");
    assert!(message.contains("Square"), "{message}");
}

#[test]
fn discover_lists_the_named_types() {
    let served = canvas();
    let output = rpc().args(["discover", &served.url]).output().unwrap();
    let text = stdout(&output);
    for expected in [
        "/// A point on a plane.\nstruct Point { x: i32, y: i32 }",
        "enum Shape { Circle { center: Point, r: f64 }, Line(Point, Point), Empty }",
        "walk(fail_at: i32) -> Stream<Item = Result<Point, DrawError>>",
    ] {
        assert!(text.contains(expected), "no `{expected}` in\n{text}");
    }
}

#[test]
fn a_stream_error_ends_the_stream_with_exit_1_after_its_items() {
    let served = canvas();
    let output = rpc()
        .args(["stream", &served.url, "walk", "[2]"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout(&output), "{\"x\":0,\"y\":0}\n{\"x\":1,\"y\":0}\n");
    let error: serde_json::Value = serde_json::from_slice(&output.stderr).unwrap();
    assert_eq!(error["data"], json!({"TooBig": {"limit": 7}}));
}

#[test]
fn listen_decodes_a_named_type_of_the_server() {
    let served = canvas();
    rpc()
        .args(["listen", &served.url, "points", "--type", "Point"])
        .args(["--call", "spray", "[2]", "--limit", "2"])
        .assert()
        .success()
        .stdout("{\"x\":0,\"y\":0}\n{\"x\":1,\"y\":1}\n");
    rpc()
        .args(["listen", &served.url, "points", "--type", "Pointe"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown type `Pointe`"));
}
