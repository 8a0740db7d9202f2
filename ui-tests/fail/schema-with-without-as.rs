use serde::{Serialize, Serializer};

fn as_bytes<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(bytes)
}

#[derive(Serialize, rpc::Schema)]
struct Blob {
    #[serde(serialize_with = "as_bytes")]
    data: Vec<u8>,
}

fn main() {}
