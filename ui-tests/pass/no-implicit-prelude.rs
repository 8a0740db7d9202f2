//! Generated code names everything by absolute paths: it compiles without
//! the prelude.

#![no_implicit_prelude]

struct Echo;

#[::rpc::router]
impl Echo {
    /// Says it back.
    #[::rpc::call]
    async fn echo(&self, text: ::std::string::String) -> ::std::string::String {
        text
    }

    #[::rpc::call]
    async fn check(&self, n: u8) -> ::std::result::Result<u8, ::std::string::String> {
        ::std::result::Result::Ok(n)
    }

    #[::rpc::cast]
    async fn poke(&self, session: &::rpc::Session) {
        let _ = session.id();
    }
}

fn main() {
    let _ = EchoClient::new;
}
