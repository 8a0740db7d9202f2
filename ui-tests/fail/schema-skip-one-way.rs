use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, rpc::Schema)]
struct Session {
    id: u64,
    #[serde(skip_deserializing)]
    started: u64,
}

fn main() {}
