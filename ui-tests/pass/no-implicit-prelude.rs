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

    #[::rpc::call(idempotent)]
    async fn check(&self, n: u8) -> ::std::result::Result<u8, ::std::string::String> {
        ::std::result::Result::Ok(n)
    }

    #[::rpc::cast(inline)]
    async fn poke(&self, session: &::rpc::Session) {
        let _ = session.id();
    }

    /// Answers without a future: a plain `fn`, inline.
    #[::rpc::call(inline)]
    fn double(&self, n: u64, session: &::rpc::Session) -> ::std::result::Result<u64, ::std::string::String> {
        let _ = session.id();
        n.checked_mul(2).ok_or_else(|| ::std::string::ToString::to_string("too large"))
    }

    #[::rpc::cast(inline)]
    fn tap(&self) {}

    /// Streams without the prelude.
    #[::rpc::stream]
    fn count(
        &self,
        n: u64,
        session: &::rpc::Session,
    ) -> impl ::futures_util::Stream<Item = ::std::result::Result<u64, ::std::string::String>> {
        let _ = session.id();
        ::futures_util::StreamExt::map(::futures_util::stream::iter(0..n), ::std::result::Result::Ok)
    }

    #[::rpc::stream]
    async fn total(&self, numbers: ::rpc::Incoming<u64>) -> u64 {
        ::futures_util::StreamExt::count(numbers).await as u64
    }

    #[::rpc::stream]
    fn pipe(
        &self,
        numbers: ::rpc::Incoming<u64>,
    ) -> ::std::result::Result<impl ::futures_util::Stream<Item = u64>, ::std::string::String> {
        ::std::result::Result::Ok(::futures_util::StreamExt::filter_map(numbers, |n| async move { n.ok() }))
    }
}

async fn use_the_streams(echo: &EchoClient) {
    let _ = echo.count_with(3, ::std::default::Default::default()).await;
    let _ = echo.total(::futures_util::stream::iter(0..3_u64)).await;
    let _ = echo.pipe(::futures_util::stream::empty()).await;
}

fn main() {
    let _ = EchoClient::<::rpc::Peer>::new;
    let _ = use_the_streams;
}
