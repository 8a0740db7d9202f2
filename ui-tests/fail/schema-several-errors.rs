use serde::Serialize;

#[derive(Serialize, rpc::Schema)]
#[serde(tag = "kind")]
enum Shape {
    Circle {
        #[serde(skip_serializing_if = "Option::is_none")]
        radius: Option<f64>,
    },
    Group {
        #[serde(flatten)]
        rest: std::collections::BTreeMap<String, f64>,
    },
}

fn main() {}
