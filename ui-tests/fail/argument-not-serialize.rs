struct Point {
    x: i64,
    y: i64,
}

struct Plotter;

#[rpc::router]
impl Plotter {
    #[rpc::call]
    async fn plot(&self, point: Point) -> i64 {
        point.x + point.y
    }
}

fn main() {}
