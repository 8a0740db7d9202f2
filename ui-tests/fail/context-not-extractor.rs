#[derive(serde::Serialize, serde::Deserialize)]
struct Lang(String);

struct Desk;

#[rpc::router]
impl Desk {
    #[rpc::call]
    async fn greet(&self, #[context] lang: Lang, name: String) -> String {
        format!("{}: {name}", lang.0)
    }
}

fn main() {}
