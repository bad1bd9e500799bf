//! One exporting run's OpenTelemetry pipeline: its own tracer provider (resource: omega-v2
//! and its version), the `tracing-opentelemetry` layer the bridge feeds with the run's spans,
//! a buffer of the finished spans (allowlisted attributes only), and the destination they
//! are sent to once, when the run ends. Nothing is sent while the run is running.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::Registry;

use super::bridge;
use super::filter::retain_exported;
use super::switch::TraceExport;
use super::transport::{Destination, ExportFailure};
use super::MAX_DETAIL_SPANS;
use crate::error::Result;

const SERVICE_NAME: &str = "omega-v2";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the bridge needs of a run: its layer and its span-selection state.
pub struct RunPipeline {
    pub layer: OpenTelemetryLayer<Registry, SdkTracer>,
    root_claimed: AtomicBool,
    details_admitted: AtomicU64,
    spans: Arc<SpanBuffer>,
}

impl RunPipeline {
    /// The first span carrying this run's `run_id` is its trace root; later ones are not.
    pub fn claim_root(&self) -> bool {
        !self.root_claimed.swap(true, Ordering::Relaxed)
    }

    /// Whether the next sampled span below a phase span still fits into the run's trace.
    pub fn admit_detail(&self) -> bool {
        self.details_admitted.fetch_add(1, Ordering::Relaxed) < MAX_DETAIL_SPANS
    }
}

/// A run's trace export, from run start to the one send at run end. Dropping it without
/// [`RunTrace::finish`] (a run that failed to start) stops the export and sends nothing.
pub struct RunTrace {
    run_id: String,
    pipeline: Arc<RunPipeline>,
    destination: Option<Destination>,
    resource: Resource,
}

impl RunTrace {
    /// Opens the destination and registers the run with the bridge; `None` when export is off.
    /// Call before the run's root span is created: the root is the first span seen.
    pub fn start(run_id: &str, switch: &TraceExport) -> Result<Option<Self>> {
        let resource = resource();
        let Some(destination) = Destination::open(switch, &resource)? else { return Ok(None) };
        let spans = Arc::new(SpanBuffer::default());
        let provider = SdkTracerProvider::builder()
            .with_span_processor(Collect(Arc::clone(&spans)))
            .with_resource(resource.clone())
            .build();
        let tracer =
            provider.tracer_with_scope(InstrumentationScope::builder("omega_v2").with_version(VERSION).build());
        // Parents come from the tracing span tree (no thread-local OpenTelemetry context), and
        // no source locations or thread names: only what the allowlist keeps is worth building.
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_context_activation(false)
            .with_location(false)
            .with_threads(false)
            .with_target(false);
        let pipeline = Arc::new(RunPipeline {
            layer,
            root_claimed: AtomicBool::new(false),
            details_admitted: AtomicU64::new(0),
            spans,
        });
        bridge::activate(run_id, Arc::clone(&pipeline));
        Ok(Some(Self { run_id: run_id.to_owned(), pipeline, destination: Some(destination), resource }))
    }

    /// Stops collecting and sends the run's spans in one request (or file line). Call after the
    /// root span closed; a span still open then is not part of the trace.
    pub fn finish(mut self) -> std::result::Result<(), ExportFailure> {
        bridge::deactivate(&self.run_id);
        let spans = self.pipeline.spans.take();
        match self.destination.take() {
            Some(destination) if !spans.is_empty() => destination.send(spans, &self.resource),
            _ => Ok(()),
        }
    }
}

impl Drop for RunTrace {
    fn drop(&mut self) {
        bridge::deactivate(&self.run_id);
    }
}

/// `service.name` = omega-v2 and `service.version`, over the SDK's defaults (SDK name and
/// version, and `OTEL_RESOURCE_ATTRIBUTES` for deployment attributes such as the host or pod).
fn resource() -> Resource {
    Resource::builder()
        .with_service_name(SERVICE_NAME)
        .with_attribute(KeyValue::new("service.version", VERSION))
        .build()
}

#[derive(Debug, Default)]
struct SpanBuffer(Mutex<Vec<SpanData>>);

impl SpanBuffer {
    fn take(&self) -> Vec<SpanData> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The span processor: filters each finished span and buffers it until the run ends.
#[derive(Debug)]
struct Collect(Arc<SpanBuffer>);

impl SpanProcessor for Collect {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, mut span: SpanData) {
        retain_exported(&mut span);
        self.0 .0.lock().unwrap_or_else(PoisonError::into_inner).push(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
