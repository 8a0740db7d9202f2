#[rpc::router]
struct Calculator;

fn main() {}
