use rpc::{Headers, Identity};

struct Desk;

#[rpc::router]
impl Desk {
    #[rpc::call]
    async fn whoami(&self, who: &Identity) -> String {
        who.subject().to_owned()
    }

    #[rpc::cast]
    async fn note(&self, headers: &rpc::Headers, text: String) {
        let _ = (headers, text);
    }
}

fn main() {
    let _ = Headers::default();
}
