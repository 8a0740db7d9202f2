use serde::Serialize;

#[derive(Serialize, rpc::Schema)]
#[serde(untagged)]
enum Value {
    Number(i64),
    Text(String),
}

fn main() {}
