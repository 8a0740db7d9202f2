struct Lang(String);

impl rpc::FromRequest for Lang {
    fn from_request(_: &rpc::Request) -> Result<Self, rpc::HandlerError> {
        Ok(Lang("en".to_owned()))
    }
}

struct Desk;

#[rpc::router]
impl Desk {
    #[rpc::call]
    async fn greet(&self, #[context(header = "lang")] lang: Lang, name: String) -> String {
        format!("{}: {name}", lang.0)
    }
}

fn main() {}
