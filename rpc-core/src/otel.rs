//! W3C trace context across the connection (feature `opentelemetry`): a
//! call carries its span's OpenTelemetry context in its metadata headers
//! (`traceparent`, `tracestate`, as the global propagator writes them),
//! and the callee's handler span takes it as its parent, so that one trace
//! spans both programs.

use opentelemetry::propagation::{Extractor, Injector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Writes the context of `span` into `headers` with the global propagator
/// (`opentelemetry::global::set_text_map_propagator`; none set, nothing
/// written).
pub(crate) fn inject(span: &tracing::Span, headers: &mut Vec<(String, String)>) {
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut Headers(headers));
    });
}

/// Makes the context the caller sent in `headers` the parent of `span`.
pub(crate) fn adopt(span: &tracing::Span, headers: &[(&str, &str)]) {
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&Received(headers))
    });
    // An error means the span is not recorded by OpenTelemetry: nothing to
    // link.
    let _ = span.set_parent(parent);
}

struct Headers<'a>(&'a mut Vec<(String, String)>);

impl Injector for Headers<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

struct Received<'a>(&'a [(&'a str, &'a str)]);

impl Extractor for Received<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| *value)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| *name).collect()
    }
}
