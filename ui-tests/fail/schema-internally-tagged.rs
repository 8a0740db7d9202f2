use serde::Serialize;

#[derive(Serialize, rpc::Schema)]
#[serde(tag = "type")]
enum Event {
    Joined { id: u64 },
    Left { id: u64 },
}

fn main() {}
