#[derive(rpc::Schema)]
union Bits {
    signed: i32,
    unsigned: u32,
}

fn main() {}
