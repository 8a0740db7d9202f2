//! Request ids: a traced call carries one in its metadata, and the caller's
//! `call` span and the callee's `handler` span both show it.

mod common;

use common::FnRouter;
use rpc::{CallOptions, protocol::REQUEST_ID_HEADER};

/// A router whose `seen` answers the request id header it received.
fn echoing_ids() -> FnRouter {
    FnRouter::new("Ids").call("seen", |req| async move {
        let id = req.header(REQUEST_ID_HEADER).map(str::to_owned);
        req.reply(&id)
    })
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("{name}="))? + name.len() + 1;
    line[start..].split([' ', '}', ':']).next()
}

#[tokio::test]
async fn a_traced_call_and_its_handler_share_a_request_id() {
    let mut seen = None;
    let logs = common::logs::logged(async {
        let server = common::serve(echoing_ids()).await;
        let client = common::connect(&server).await;
        seen = client
            .peer()
            .call::<_, Option<String>>("seen", &())
            .await
            .unwrap();
    })
    .await;
    let id = seen.expect("a traced call sends a request id");
    assert_eq!(id.len(), 16);
    let call = logs
        .lines()
        .find(|line| line.contains("call{") && line.contains("close"))
        .unwrap_or_else(|| panic!("no call span in\n{logs}"));
    let handler = logs
        .lines()
        .find(|line| line.contains("handler{") && line.contains("close"))
        .unwrap_or_else(|| panic!("no handler span in\n{logs}"));
    assert_eq!(field(call, "request_id"), Some(id.as_str()), "{call}");
    assert_eq!(field(handler, "request_id"), Some(id.as_str()), "{handler}");
    assert_eq!(field(handler, "method"), Some("seen"));
}

#[tokio::test]
async fn the_caller_s_own_request_id_is_sent_as_it_is() {
    let mut seen = None;
    common::logs::logged(async {
        let server = common::serve(echoing_ids()).await;
        let client = common::connect(&server).await;
        let options = CallOptions::default().header(REQUEST_ID_HEADER, "order-42");
        seen = client
            .peer()
            .call_with::<_, Option<String>>("seen", &(), options)
            .await
            .unwrap();
    })
    .await;
    assert_eq!(seen.as_deref(), Some("order-42"));
}
