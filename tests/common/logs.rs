//! What `tracing` logs while a test runs, as text to assert on.

use std::{
    future::Future,
    sync::{Arc, Mutex},
};

use tracing_subscriber::fmt::format::FmtSpan;

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

/// Runs `f` with a subscriber on this thread that logs events, and every
/// span's close with its fields, at DEBUG and up; returns what it logged.
pub async fn logged<F: Future<Output = ()>>(f: F) -> String {
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
