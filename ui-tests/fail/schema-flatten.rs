use serde::Serialize;

#[derive(Serialize, rpc::Schema)]
struct Inner {
    a: u8,
}

#[derive(Serialize, rpc::Schema)]
struct Outer {
    #[serde(flatten)]
    inner: Inner,
}

fn main() {}
