//! `--otlp-endpoint URL`: each request's span (`request`, with its method, path, status, the
//! decision's reason and the caller) exported over OTLP/HTTP in protobuf, batched on the
//! SDK's own thread; flushed when the server stops.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::output::Error;

/// The exporter in force; shut down (flushed) by [`Tracing::finish`].
pub(crate) struct Tracing(SdkTracerProvider);

/// Exports the spans to `endpoint` (for example `http://127.0.0.1:4318/v1/traces`).
pub(crate) fn install(endpoint: &str) -> Result<Tracing, Error> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| Error::config(format!("--otlp-endpoint {endpoint}: {e}")))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name("auth-serve").build())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("auth-serve"));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        .map_err(|e| Error::config(format!("tracing: {e}")))?;
    Ok(Tracing(provider))
}

impl Tracing {
    /// Sends what is still batched, waiting for the exporter (it blocks: call it off the
    /// async workers).
    pub(crate) fn finish(self) {
        let _ = self.0.shutdown();
    }
}
