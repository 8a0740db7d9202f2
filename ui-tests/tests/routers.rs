//! The routers of this crate, written without the prelude, work at run
//! time: registered, mounted, called through their stubs.

use rpc_ui_tests::{Fifty, Notes, NotesClient, fifty::FiftyClient};

#[test]
fn both_routers_are_registered() {
    let mut found: Vec<(String, usize)> = rpc::routers()
        .map(|info| (info.name.to_string(), info.methods.len()))
        .collect();
    found.sort();
    assert_eq!(found, [("Fifty".to_owned(), 50), ("Notes".to_owned(), 3)]);
}

#[tokio::test]
async fn routers_without_prelude_serve_calls() {
    let server = rpc::Server::builder()
        .mount(Notes::default())
        .mount(Fifty)
        .bind("127.0.0.1:0")
        .await
        .expect("binds");
    let client = rpc::Client::connect(&format!("ws://{}", server.local_addr().unwrap()))
        .await
        .expect("connects");

    let notes = NotesClient::new(client.peer());
    assert_eq!(notes.add("first".to_owned()).await.expect("call"), 1);
    assert_eq!(notes.get(0).await.expect("call"), Ok("first".to_owned()));
    assert_eq!(
        notes.get(7).await.expect("call"),
        Err("no line 7".to_owned())
    );
    notes.clear().await.expect("cast");

    let fifty = FiftyClient::new(client.peer());
    assert_eq!(fifty.m0(40, 2).await.expect("call"), 42);
    assert_eq!(
        fifty.m1(String::new()).await.expect("call"),
        Err("empty".to_owned())
    );
    let items = vec!["a".to_owned(), "b".to_owned()];
    assert_eq!(fifty.m49(items, true, 3).await.expect("call"), 2);

    client.close().await;
    server.shutdown().await;
}
