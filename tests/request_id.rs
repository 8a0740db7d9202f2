//! Request ids: a traced call carries one in its metadata, and the caller's
//! `call` span and the callee's `handler` span both show it.

mod common;

use std::sync::{Arc, Mutex};

use common::FnRouter;
use rpc::{CallOptions, protocol::REQUEST_ID_HEADER};
use tracing_subscriber::fmt::format::FmtSpan;

/// A router whose `seen` answers the request id header it received.
fn echoing_ids() -> FnRouter {
    FnRouter::new("Ids").call("seen", |req| async move {
        let id = req.header(REQUEST_ID_HEADER).map(str::to_owned);
        req.reply(&id)
    })
}

/// Collects what the subscriber writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with a subscriber that logs every span's close, with its
/// fields, at DEBUG; returns what it logged.
async fn logged<F: std::future::Future<Output = ()>>(f: F) -> String {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    f.await;
    drop(guard);
    String::from_utf8(capture.0.lock().unwrap().clone()).unwrap()
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("{name}="))? + name.len() + 1;
    line[start..].split([' ', '}', ':']).next()
}

#[tokio::test]
async fn a_traced_call_and_its_handler_share_a_request_id() {
    let mut seen = None;
    let logs = logged(async {
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
    logged(async {
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
