struct Handle;

#[derive(rpc::Schema)]
struct Job {
    id: u64,
    handle: Handle,
}

fn main() {}
