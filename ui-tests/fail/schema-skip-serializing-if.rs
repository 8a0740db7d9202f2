use serde::Serialize;

#[derive(Serialize, rpc::Schema)]
struct Patch {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

fn main() {}
