//! Type schemas over a real connection: `discover()` carries them, and a
//! stub built against another version of a router gets `incompatible
//! schema` instead of garbage.

mod common;

use common::within;
use rpc::{
    ErrorCode, Server,
    schema::{MethodSchema, Type},
    testing::TestServer,
};

/// The router as the server runs it today.
mod v2 {
    /// Arithmetic.
    pub(crate) struct Calc;

    #[rpc::router]
    impl Calc {
        /// Adds a scaled number: `a * scale + b`.
        #[rpc::call]
        async fn add(&self, a: String, b: i64) -> Result<i64, String> {
            a.parse::<i64>()
                .map(|a| a + b)
                .map_err(|err| err.to_string())
        }

        /// Unchanged since version 1.
        #[rpc::call]
        async fn ping(&self, seq: u32) -> u32 {
            seq
        }

        /// Records a line.
        #[rpc::cast]
        async fn note(&self, line: String) {
            let _ = line;
        }

        /// Counts up to `n`.
        #[rpc::stream]
        #[allow(clippy::unused_self, reason = "a router's methods take `&self`")]
        fn count(&self, n: u64) -> impl futures_util::Stream<Item = u64> + Send + 'static {
            futures_util::stream::iter(0..n)
        }
    }
}

/// The same router as an older client was built against: `add` took two
/// numbers then.
mod v1 {
    // Only the stub is used: the server runs version 2.
    #![allow(dead_code)]

    /// Arithmetic.
    pub(crate) struct Calc;

    #[rpc::router]
    impl Calc {
        /// Adds two numbers.
        #[rpc::call]
        async fn add(&self, a: i64, b: i64) -> Result<i64, String> {
            Ok(a + b)
        }

        /// Unchanged since version 1.
        #[rpc::call]
        async fn ping(&self, seq: u32) -> u32 {
            seq
        }

        /// Counted in `u32` then.
        #[rpc::stream]
        #[allow(clippy::unused_self, reason = "a router's methods take `&self`")]
        fn count(&self, n: u32) -> impl futures_util::Stream<Item = u32> + Send + 'static {
            futures_util::stream::iter(0..n)
        }
    }
}

async fn server() -> TestServer {
    TestServer::start(Server::builder().mount(v2::Calc))
        .await
        .expect("server starts")
}

fn method<'a>(routers: &'a [rpc::RouterInfo], name: &str) -> &'a MethodSchema {
    routers
        .iter()
        .flat_map(|router| router.methods.iter())
        .find(|method| method.name == name)
        .and_then(|method| method.schema.as_ref())
        .unwrap_or_else(|| panic!("no schema for {name}"))
}

#[tokio::test]
async fn discover_carries_each_methods_types_and_the_stubs_hash() {
    let server = server().await;
    let client = within("connect", server.client()).await.unwrap();
    let routers = within("discover", client.peer().discover()).await.unwrap();
    let add = method(&routers, "add");
    assert_eq!(add.params, [Type::String, Type::I64]);
    assert_eq!(add.returns, Type::I64);
    assert_eq!(add.error, Some(Type::String));
    assert_eq!((&add.item, &add.upload), (&None, &None));
    let info = routers[0].methods.iter().find(|m| m.name == "add").unwrap();
    assert_eq!(
        info.signature(),
        "add(a: String, b: i64) -> Result<i64, String>"
    );
    let note = method(&routers, "note");
    assert_eq!(note.returns, Type::Unit);
    // The hashes are the ones the stubs compiled.
    let compiled = v2::CalcClient::<rpc::Peer>::__rpc_schema();
    assert_eq!(add.hash, compiled.methods[0].hash);
    let old = v1::CalcClient::<rpc::Peer>::__rpc_schema();
    assert_ne!(old.methods[0].hash, add.hash, "add changed shape");
    assert_eq!(old.methods[1].hash, method(&routers, "ping").hash);
}

#[tokio::test]
async fn a_stub_of_another_version_is_refused_instead_of_decoding_garbage() {
    let server = server().await;
    let client = within("connect", server.client()).await.unwrap();
    let old = v1::CalcClient::new(client.peer());
    // Both numbers would decode as a string and an integer: `2` is a
    // zigzag varint `04`, read as a string of 4 bytes.
    let err = within("old add", old.add(2, 5)).await.unwrap_err();
    assert_eq!(err.kind(), "incompatible-schema", "{err}");
    let rpc::Error::Remote(remote) = &err else {
        panic!("not a remote error: {err}");
    };
    assert_eq!(remote.code(), ErrorCode::INCOMPATIBLE_SCHEMA);
    assert!(remote.message().contains("`add`"), "{}", remote.message());
    // Later calls are refused the same, and a method whose shape did not
    // change keeps working from the same old stub.
    let again = within("old add again", old.add(2, 5)).await.unwrap_err();
    assert_eq!(again.kind(), "incompatible-schema");
    assert_eq!(within("ping", old.ping(7)).await.unwrap(), 7);
    // The current stub is accepted.
    let current = v2::CalcClient::new(client.peer());
    assert_eq!(
        within("add", current.add("40".to_owned(), 2))
            .await
            .unwrap(),
        Ok(42)
    );
}

#[tokio::test]
async fn a_stream_of_another_version_is_refused_at_its_opening() {
    use futures_util::StreamExt as _;

    let server = server().await;
    let client = within("connect", server.client()).await.unwrap();
    let old = v1::CalcClient::new(client.peer());
    let Err(err) = within("old count", old.count(3)).await else {
        panic!("the old stream opened");
    };
    assert_eq!(err.kind(), "incompatible-schema", "{err}");
    let current = v2::CalcClient::new(client.peer());
    let items: Vec<u64> = within("count", current.count(3))
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(items, [0, 1, 2]);
}
