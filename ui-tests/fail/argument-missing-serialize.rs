// One derive missing is one error, at the type: the client stub, the push
// stub and the broadcast stub all encode this cast's argument.
#[derive(serde::Deserialize)]
struct Point {
    x: i64,
    y: i64,
}

struct Plotter;

#[rpc::router]
impl Plotter {
    #[rpc::cast]
    async fn mark(&self, point: Point) {
        let _ = point.x + point.y;
    }
}

fn main() {}
