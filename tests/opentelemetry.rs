//! W3C trace context across a call (feature `opentelemetry`, which the
//! tests turn on through their dev-dependency on the core crate): the
//! server's handler span joins the trace of the client's span that made
//! the call.

mod common;

use common::FnRouter;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

/// The trace id of the span the code runs in.
fn current_trace_id() -> String {
    tracing::Span::current()
        .context()
        .span()
        .span_context()
        .trace_id()
        .to_string()
}

#[tokio::test]
async fn the_handler_span_joins_the_caller_s_trace() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let provider = SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
        .with(tracing_subscriber::filter::LevelFilter::DEBUG);
    let _guard = tracing::subscriber::set_default(subscriber);

    let router = FnRouter::new("Traced").call("trace_id", |req| async move {
        let headers: Vec<String> = req.headers().iter().map(|(name, _)| name.clone()).collect();
        req.reply(&(current_trace_id(), headers))
    });
    let server = common::serve(router).await;
    let client = common::connect(&server).await;
    let root = tracing::info_span!("checkout");
    let (theirs, headers, ours) = async {
        let (theirs, headers): (String, Vec<String>) =
            client.peer().call("trace_id", &()).await.unwrap();
        (theirs, headers, current_trace_id())
    }
    .instrument(root)
    .await;
    assert!(
        headers.iter().any(|name| name == "traceparent"),
        "{headers:?}"
    );
    assert_ne!(ours, opentelemetry::trace::TraceId::INVALID.to_string());
    assert_eq!(theirs, ours, "one trace across the call");
}
