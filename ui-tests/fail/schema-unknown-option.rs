#[derive(rpc::Schema)]
#[schema(rename = "Point2")]
struct Point {
    x: i32,
    #[schema(crate = "::rpc")]
    y: i32,
}

fn main() {}
