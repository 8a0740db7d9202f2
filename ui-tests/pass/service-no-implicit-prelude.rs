//! A service's generated code names everything by absolute paths: it
//! compiles without the prelude.

#![no_implicit_prelude]

/// Says things back.
#[::rpc::service]
pub trait Echo {
    #[::rpc::call]
    async fn echo(&self, text: ::std::string::String) -> ::std::string::String;

    #[::rpc::call(idempotent, inline)]
    async fn check(&self, n: u8) -> ::std::result::Result<u8, ::std::string::String>;

    #[::rpc::cast]
    async fn poke(&self, session: &::rpc::Session);

    /// Answers without a future.
    #[::rpc::call(inline)]
    fn double(&self, n: u64, session: &::rpc::Session) -> u64;

    #[::rpc::stream]
    fn count(&self, n: u64) -> impl ::futures_util::Stream<Item = u64>;

    #[::rpc::stream]
    async fn total(&self, numbers: ::rpc::Incoming<u64>) -> u64;
}

struct Parrot;

impl Echo for Parrot {
    async fn echo(&self, text: ::std::string::String) -> ::std::string::String {
        text
    }

    async fn check(&self, n: u8) -> ::std::result::Result<u8, ::std::string::String> {
        ::std::result::Result::Ok(n)
    }

    async fn poke(&self, session: &::rpc::Session) {
        let _ = session.id();
    }

    fn double(&self, n: u64, session: &::rpc::Session) -> u64 {
        let _ = session.id();
        n * 2
    }

    fn count(&self, n: u64) -> impl ::futures_util::Stream<Item = u64> {
        ::futures_util::stream::iter(0..n)
    }

    async fn total(&self, numbers: ::rpc::Incoming<u64>) -> u64 {
        ::futures_util::StreamExt::count(numbers).await as u64
    }
}

fn main() {
    let _ = ::rpc::Server::builder().mount(EchoRouter::new(Parrot));
    let _ = EchoClient::<::rpc::Peer>::new;
}
