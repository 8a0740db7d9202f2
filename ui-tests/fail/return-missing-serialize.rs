// One derive missing is one error, at the type.
#[derive(serde::Deserialize)]
struct Point {
    x: i64,
    y: i64,
}

struct Plotter;

#[rpc::router]
impl Plotter {
    #[rpc::call]
    async fn origin(&self) -> Point {
        Point { x: 0, y: 0 }
    }
}

fn main() {
    let _ = |p: Point| p.x + p.y;
}
