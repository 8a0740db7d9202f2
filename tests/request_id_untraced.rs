//! A call nobody traces sends no request id. In a test binary of its own:
//! tracing caches, per call site, whether any subscriber wants its spans,
//! so a test that installs one (`tests/request_id.rs`) would enable the span
//! for every thread of the binary.

mod common;

use common::FnRouter;
use rpc::protocol::REQUEST_ID_HEADER;

#[tokio::test]
async fn an_untraced_call_sends_no_request_id() {
    let router = FnRouter::new("Ids").call("seen", |req| async move {
        let id = req.header(REQUEST_ID_HEADER).map(str::to_owned);
        req.reply(&id)
    });
    let server = common::serve(router).await;
    let client = common::connect(&server).await;
    let seen: Option<String> = client.peer().call("seen", &()).await.unwrap();
    assert_eq!(seen, None);
}
