//! Raw identifiers keep their `r#` in Rust and lose it on the wire.

struct Keywords;

#[rpc::router]
impl Keywords {
    #[rpc::call]
    async fn r#type(&self, r#match: u8) -> u8 {
        r#match
    }
}

fn main() {
    let _ = KeywordsClient::<rpc::Peer>::r#type;
    let info = rpc::routers().next().unwrap();
    assert_eq!(info.methods[0].name, "type");
    assert_eq!(info.methods[0].params[0].name, "match");
}
