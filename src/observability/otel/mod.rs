//! OpenTelemetry export of a run's spans (cargo feature `otel`; see `docs/observability.md`).
//!
//! A run with `OMEGA_OTEL_EXPORTER` set ([`TraceExport`]) becomes one trace: the root
//! `backtest_run` span (attributes `run_id`, `strategy_name`, `symbol`, `timeframe`), its phase
//! spans and, in profiling mode, a sample of its per-bar spans with the per-event spans inside. The trace is
//! buffered in memory and sent once, when the run ends, in one OTLP/HTTP request (protobuf) or
//! one OTLP/JSON line of a file; a failed send costs the run at most about two exporter
//! timeouts (attempt plus retries within the timeout) and one WARN record in its log, never
//! its result.
//!
//! * [`switch`]: the environment switch, read per run (also without the feature, so that a
//!   build without it can say that the export asked for is unavailable).
//! * `bridge`: the layer that picks a run's spans out of the global registry.
//! * `pipeline`: the run's tracer provider, span buffer and sampling state.
//! * `filter`: the attribute allowlist every exported span passes.
//! * `transport`: the OTLP/HTTP client and the file writer.

mod switch;

#[cfg(feature = "otel")]
mod bridge;
#[cfg(feature = "otel")]
mod filter;
#[cfg(feature = "otel")]
mod pipeline;
#[cfg(feature = "otel")]
mod transport;

pub use switch::{TraceExport, EXPORTER_ENV, FILE_ENV};

/// Profiling mode's loop gives one bar in this many per run a span marked as sampled (the
/// first traded bar, the 1001st, ...); those are exported, each with every span inside it.
pub const DETAIL_SAMPLE_EVERY: u64 = 1000;
/// The field whose presence on a span's callsite marks it as sampled for export. It is declared
/// without a value, so it never becomes an attribute or a log field.
pub const SAMPLED_FIELD: &str = "sampled";
/// At most this many sampled spans per run (one per 1000 bars up to 10 million bars), so the
/// buffer and the one export request stay bounded however long the run.
pub const MAX_DETAIL_SPANS: u64 = 10_000;

#[cfg(feature = "otel")]
pub(crate) use bridge::OtelBridge;
#[cfg(feature = "otel")]
pub use filter::{EVENT_ATTRIBUTES, SPAN_ATTRIBUTES};
#[cfg(feature = "otel")]
pub(crate) use pipeline::RunTrace;

#[cfg(all(test, feature = "otel"))]
mod tests;
