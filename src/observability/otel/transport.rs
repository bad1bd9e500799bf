//! Where a finished run's spans go: the official OTLP/HTTP exporter (protobuf bodies) on a
//! small blocking `ureq` client, or one OTLP/JSON line appended to a file.
//!
//! `ureq` (no TLS, no compression) instead of the exporter's bundled reqwest client keeps the
//! `otel` feature at about 30 extra crates instead of about 70 (no tokio, hyper, tower, url)
//! and needs no runtime thread: the export is one blocking call at the end of a run.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use super::switch::{TraceExport, FILE_ENV};
use crate::error::{EngineError, ErrorCode, Result};

/// A collector's reply is a small protobuf message; anything larger is not one.
const MAX_RESPONSE_BYTES: u64 = 1 << 20;

/// Why a run's trace did not reach its destination (for the run's one WARN record).
#[derive(Debug)]
pub struct ExportFailure {
    pub exporter: &'static str,
    /// `host:port/path` of the endpoint (no credentials) or the file path.
    pub destination: String,
    pub spans: usize,
    pub reason: String,
}

pub enum Destination {
    /// Boxed: the exporter is large and the file variant small.
    Otlp {
        exporter: Box<opentelemetry_otlp::SpanExporter>,
        destination: String,
        last_error: Arc<Mutex<Option<String>>>,
    },
    File {
        file: File,
        path: PathBuf,
    },
}

impl Destination {
    /// Builds the exporter or opens the file (so a bad setting fails the run before it
    /// starts); `None` when export is off.
    pub fn open(switch: &TraceExport, resource: &Resource) -> Result<Option<Self>> {
        match switch {
            TraceExport::Off => Ok(None),
            TraceExport::Otlp { url, timeout } => otlp(url, *timeout, resource).map(Some),
            TraceExport::File { path } => {
                let file = OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
                    EngineError::new(
                        ErrorCode::ConfigEnvironment,
                        format!("{FILE_ENV}: cannot open {} for appending OTLP/JSON traces: {e}", path.display()),
                    )
                    .with("field", FILE_ENV)
                })?;
                Ok(Some(Self::File { file, path: path.clone() }))
            }
        }
    }

    /// Sends one run's spans in one request (or one line); bounded by the exporter's timeout.
    pub fn send(self, spans: Vec<SpanData>, resource: &Resource) -> std::result::Result<(), ExportFailure> {
        let count = spans.len();
        match self {
            Self::Otlp { exporter, destination, last_error } => {
                let outcome = futures_executor::block_on(exporter.export(spans));
                let _ = exporter.shutdown();
                outcome.map_err(|e| ExportFailure {
                    exporter: "otlp",
                    destination,
                    spans: count,
                    // The exporter reports "network error" only; the client kept the cause.
                    reason: lock(&last_error).take().unwrap_or_else(|| e.to_string()),
                })
            }
            Self::File { mut file, path } => {
                let request = ExportTraceServiceRequest {
                    resource_spans: group_spans_by_resource_and_scope(
                        spans,
                        &ResourceAttributesWithSchema::from(resource),
                    ),
                };
                let mut line = serde_json::to_vec(&request).expect("OTLP messages serialise to JSON");
                line.push(b'\n');
                // One write of the whole line: O_APPEND keeps lines of concurrent runs whole.
                file.write_all(&line).map_err(|e| ExportFailure {
                    exporter: "file",
                    destination: path.display().to_string(),
                    spans: count,
                    reason: e.to_string(),
                })
            }
        }
    }
}

fn otlp(url: &str, timeout: Duration, resource: &Resource) -> Result<Destination> {
    let destination = redacted(url);
    let last_error = Arc::new(Mutex::new(None));
    let client = UreqClient::new(timeout, Arc::clone(&last_error));
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(timeout)
        .build()
        .map_err(|e| {
            // The builder's message may quote the endpoint; name the variables instead.
            let why = match e {
                opentelemetry_otlp::ExporterBuildError::InvalidConfiguration(_) => "is not a valid URL",
                _ => "cannot be used",
            };
            EngineError::new(
                ErrorCode::ConfigEnvironment,
                format!("the OTLP endpoint from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT {why} ({destination}); or a setting in OTEL_EXPORTER_OTLP_HEADERS / OTEL_EXPORTER_OTLP_COMPRESSION is unsupported"),
            )
            .with("field", "OTEL_EXPORTER_OTLP_ENDPOINT")
        })?;
    exporter.set_resource(resource);
    Ok(Destination::Otlp { exporter: Box::new(exporter), destination, last_error })
}

/// `host:port/path` of `url`, without user info or query: what a log line may show of an
/// endpoint.
fn redacted(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    format!("{host}{path}")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The exporter's HTTP client: blocking, every request bounded by `timeout` (connect, send and
/// response together), non-2xx statuses returned as responses so the exporter's retry policy
/// sees them. It keeps the last transport error, which the exporter itself does not report.
#[derive(Debug)]
struct UreqClient {
    agent: ureq::Agent,
    last_error: Arc<Mutex<Option<String>>>,
}

impl UreqClient {
    fn new(timeout: Duration, last_error: Arc<Mutex<Option<String>>>) -> Self {
        let agent =
            ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build().into();
        Self { agent, last_error }
    }

    fn send(&self, request: Request<Bytes>) -> std::result::Result<Response<Bytes>, ureq::Error> {
        let (parts, body) = request.into_parts();
        let response = self.agent.run(Request::from_parts(parts, body.to_vec()))?;
        let (parts, mut body) = response.into_parts();
        let bytes = body.with_config().limit(MAX_RESPONSE_BYTES).read_to_vec()?;
        Ok(Response::from_parts(parts, Bytes::from(bytes)))
    }
}

#[async_trait::async_trait]
impl HttpClient for UreqClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> std::result::Result<Response<Bytes>, HttpError> {
        self.send(request).map_err(|e| {
            *lock(&self.last_error) = Some(e.to_string());
            Box::new(e) as HttpError
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_logged_without_credentials() {
        assert_eq!(redacted("http://user:pw@collector:4318/v1/traces"), "collector:4318/v1/traces");
        assert_eq!(redacted("http://127.0.0.1:4318/v1/traces?token=t#x"), "127.0.0.1:4318/v1/traces");
        assert_eq!(redacted("http://collector:4318"), "collector:4318");
    }
}
