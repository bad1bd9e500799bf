//! The per-run trace export switch, read from the environment when a run starts.
//!
//! * `OMEGA_OTEL_EXPORTER`: unset, empty, `none` or `off` (export off, the default), `otlp` or
//!   `file`.
//! * `otlp`: OTLP/HTTP with protobuf bodies to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as
//!   is) or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces` (default `http://localhost:4318`),
//!   waiting at most `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` / `OTEL_EXPORTER_OTLP_TIMEOUT`
//!   milliseconds (default 10000) per attempt. The standard variables, read the way the
//!   OpenTelemetry SDKs read them; `OTEL_EXPORTER_OTLP_HEADERS` is passed on by the exporter.
//! * `file`: OTLP/JSON appended to `OMEGA_OTEL_FILE`, one `ExportTraceServiceRequest` per line.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{EngineError, ErrorCode, Result};

pub const EXPORTER_ENV: &str = "OMEGA_OTEL_EXPORTER";
pub const FILE_ENV: &str = "OMEGA_OTEL_FILE";
const ENDPOINT_ENVS: [&str; 2] = ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"];
const TIMEOUT_ENVS: [&str; 2] = ["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"];
const PROTOCOL_ENVS: [&str; 2] = ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"];
const DEFAULT_ENDPOINT: &str = "http://localhost:4318";
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(10_000);

/// Where a run's spans go as an OpenTelemetry trace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TraceExport {
    #[default]
    Off,
    /// POST the trace to `url` (the full `/v1/traces` URL), each attempt bounded by `timeout`.
    Otlp { url: String, timeout: Duration },
    /// Append the trace as one OTLP/JSON line to `path`.
    File { path: PathBuf },
}

impl TraceExport {
    /// The switch as the process environment sets it now.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The switch from the variables `var` returns (`None`: unset); an empty value is unset.
    /// Errors name the variable and never quote an endpoint (it may carry credentials).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        match get(EXPORTER_ENV).map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("none" | "off") => Ok(Self::Off),
            Some("otlp") => Ok(Self::Otlp { url: traces_url(&get)?, timeout: timeout(&get)? }),
            Some("file") => match get(FILE_ENV) {
                Some(path) => Ok(Self::File { path: PathBuf::from(path) }),
                None => Err(env_error(
                    FILE_ENV,
                    format!("{EXPORTER_ENV}=file needs {FILE_ENV}, the file to append the OTLP/JSON traces to"),
                )),
            },
            Some(_) => Err(env_error(
                EXPORTER_ENV,
                format!("{EXPORTER_ENV} must be `otlp`, `file` or `none` (unset: no export)"),
            )),
        }
    }

    pub fn is_off(&self) -> bool {
        *self == Self::Off
    }
}

/// The signal-specific endpoint is the full URL; the generic one gets `/v1/traces` appended.
fn traces_url(get: &impl Fn(&str) -> Option<String>) -> Result<String> {
    check_protocol(get)?;
    let [traces, generic] = ENDPOINT_ENVS;
    let (name, url) = match (get(traces), get(generic)) {
        (Some(url), _) => (traces, url),
        (None, Some(base)) => (generic, format!("{}/v1/traces", base.trim_end_matches('/'))),
        (None, None) => (generic, format!("{DEFAULT_ENDPOINT}/v1/traces")),
    };
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http") => Ok(url),
        Some("https") => Err(env_error(
            name,
            format!("{name} is an https URL, but omega-v2 sends OTLP over plain http (no TLS in the engine): point it at a local OpenTelemetry Collector or agent, e.g. http://localhost:4318"),
        )),
        _ => Err(env_error(name, format!("{name} must be an http:// URL such as {DEFAULT_ENDPOINT}"))),
    }
}

fn check_protocol(get: &impl Fn(&str) -> Option<String>) -> Result<()> {
    match PROTOCOL_ENVS.iter().find_map(|name| get(name).map(|v| (*name, v))) {
        Some((name, protocol)) if protocol != "http/protobuf" => Err(env_error(
            name,
            format!("{name} must be `http/protobuf` (the only OTLP protocol omega-v2 sends) or unset"),
        )),
        _ => Ok(()),
    }
}

fn timeout(get: &impl Fn(&str) -> Option<String>) -> Result<Duration> {
    match TIMEOUT_ENVS.iter().find_map(|name| get(name).map(|v| (*name, v))) {
        None => Ok(DEFAULT_TIMEOUT),
        Some((name, ms)) => match ms.parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err(env_error(name, format!("{name} must be a positive whole number of milliseconds, e.g. 10000"))),
        },
    }
}

fn env_error(name: &str, message: String) -> EngineError {
    EngineError::new(ErrorCode::ConfigEnvironment, message).with("field", name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> Result<TraceExport> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        TraceExport::from_vars(|name| vars.get(name).cloned())
    }

    fn otlp(url: &str, ms: u64) -> TraceExport {
        TraceExport::Otlp { url: url.into(), timeout: Duration::from_millis(ms) }
    }

    #[test]
    fn off_unless_asked() {
        for vars in [&[][..], &[(EXPORTER_ENV, "")], &[(EXPORTER_ENV, " none ")], &[(EXPORTER_ENV, "OFF")]] {
            assert_eq!(parse(vars).unwrap(), TraceExport::Off, "{vars:?}");
        }
        // Exporter settings alone switch nothing on.
        assert!(parse(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")]).unwrap().is_off());
    }

    #[test]
    fn otlp_endpoints_follow_the_standard_variables() {
        assert_eq!(parse(&[(EXPORTER_ENV, "otlp")]).unwrap(), otlp("http://localhost:4318/v1/traces", 10_000));
        let generic = [(EXPORTER_ENV, "OTLP"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")];
        assert_eq!(parse(&generic).unwrap(), otlp("http://collector:4318/v1/traces", 10_000));
        let specific = [
            (EXPORTER_ENV, "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://tempo:4318/otlp/v1/traces"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "900"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "250"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ];
        assert_eq!(parse(&specific).unwrap(), otlp("http://tempo:4318/otlp/v1/traces", 250));
    }

    #[test]
    fn file_mode_needs_its_path() {
        let vars = [(EXPORTER_ENV, "file"), (FILE_ENV, "/tmp/traces.jsonl")];
        assert_eq!(parse(&vars).unwrap(), TraceExport::File { path: "/tmp/traces.jsonl".into() });
        let err = parse(&[(EXPORTER_ENV, "file")]).unwrap_err();
        assert_eq!(
            (err.code, err.context.get("field").map(String::as_str)),
            (ErrorCode::ConfigEnvironment, Some(FILE_ENV))
        );
    }

    #[test]
    fn bad_settings_name_the_variable_and_never_quote_an_endpoint() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[(EXPORTER_ENV, "jaeger")], EXPORTER_ENV),
            (
                &[(EXPORTER_ENV, "otlp"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://user:pw@saas:443")],
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ),
            (
                &[(EXPORTER_ENV, "otlp"), ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "user:pw@collector")],
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            ),
            (&[(EXPORTER_ENV, "otlp"), ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s")], "OTEL_EXPORTER_OTLP_TIMEOUT"),
            (
                &[(EXPORTER_ENV, "otlp"), ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0")],
                "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            ),
            (&[(EXPORTER_ENV, "otlp"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")], "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ];
        for (vars, field) in cases {
            let err = parse(vars).unwrap_err();
            assert_eq!(err.code, ErrorCode::ConfigEnvironment, "{vars:?}");
            assert_eq!(err.context.get("field").map(String::as_str), Some(field), "{vars:?}");
            assert!(err.to_string().contains(field), "{err}");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
    }
}
