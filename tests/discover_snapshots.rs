//! What `discover()` says of the example routers, as reviewed text: a
//! change to a method's name, parameters, types or docs, or to a type it
//! uses, changes a snapshot here (and the method's schema hash with it),
//! so it shows up in review.

#[path = "../examples/routers/mod.rs"]
#[allow(dead_code)]
mod routers;

use std::fmt::Write as _;

use rpc::{Client, RouterInfo, Server, testing::pair};

/// A router as a reviewer reads it: each method's signature from its
/// schema, its hash and docs, then the named types it uses.
fn render(router: &RouterInfo) -> String {
    let mut out = format!("router {}: {}\n", router.name, router.docs);
    for method in router.methods.iter() {
        let hash = method.schema.as_ref().map_or_else(
            || "none".to_owned(),
            |schema| format!("{:016x}", schema.hash),
        );
        let kind = format!("{:?}", method.kind).to_lowercase();
        writeln!(out, "  {kind} {}", method.signature()).unwrap();
        writeln!(out, "    hash {hash}").unwrap();
        for line in method.docs.lines() {
            writeln!(out, "    /// {line}").unwrap();
        }
        if let Some(timeout) = method.timeout_ms {
            writeln!(out, "    timeout {timeout} ms").unwrap();
        }
    }
    for definition in &router.types {
        writeln!(out, "  {definition}").unwrap();
    }
    out
}

async fn discovered(server: rpc::ServerBuilder) -> Vec<RouterInfo> {
    let pair = pair(server, Client::builder()).await.expect("pair");
    pair.client.peer().discover().await.expect("discover")
}

#[tokio::test]
async fn the_example_servers_routers() {
    let server = Server::builder()
        .mount(routers::Calculator)
        .mount(routers::Echo)
        .mount(routers::streams::Streams)
        .mount(routers::duplex::Duplex)
        .mount(routers::rooms::Rooms);
    for router in discovered(server).await {
        insta::assert_snapshot!(router.name.to_string(), render(&router));
    }
}
