fn need<T: rpc::Schema>() {}

struct Point {
    x: i32,
    y: i32,
}

fn main() {
    need::<Point>();
}
