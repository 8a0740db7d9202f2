// A type with serde's derives but not `rpc::Schema`, in a router's
// parameter, answer error and stream item: one error at each, saying to
// derive it.
use futures_util::Stream;

#[derive(serde::Serialize, serde::Deserialize)]
struct Point {
    x: i64,
    y: i64,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum PlotError {
    OffTheChart,
}

impl std::fmt::Display for PlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("off the chart")
    }
}

struct Plotter;

#[rpc::router]
impl Plotter {
    #[rpc::call]
    async fn plot(&self, point: Point) -> Result<u32, PlotError> {
        Ok(u32::try_from(point.x + point.y).unwrap_or_default())
    }

    #[rpc::stream]
    fn trace(&self, steps: u32) -> impl Stream<Item = Point> + Send + 'static {
        futures_util::stream::iter((0..i64::from(steps)).map(|x| Point { x, y: x }))
    }
}

fn main() {}
