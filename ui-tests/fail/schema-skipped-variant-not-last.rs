use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, rpc::Schema)]
enum Command {
    Start,
    #[serde(skip)]
    Internal,
    Stop,
}

fn main() {}
