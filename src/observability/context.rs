//! What a run tells the router: its identity (written on every record) and its sink options,
//! plus the validation that must happen before a log file is touched.

use std::path::PathBuf;

use tracing::Level;
use tracing_subscriber::filter::{LevelFilter, Targets};

use super::otel::TraceExport;
use crate::error::{EngineError, ErrorCode, Result};

/// The four context fields every record of a run carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLogContext {
    pub run_id: String,
    pub strategy_name: String,
    pub symbol: String,
    pub timeframe: String,
}

/// Where and how much a run logs.
#[derive(Debug, Clone)]
pub struct RunLogOptions {
    /// The run's text and JSON log files (see `layout::RunPaths`); their directory is created
    /// if missing.
    pub text_log: PathBuf,
    pub json_log: PathBuf,
    /// Level when `rust_log` is `None`: INFO for dev, WARN for prod.
    pub default_level: Level,
    /// A `RUST_LOG` value (`"debug"`, `"warn,omega_v2::engine=trace"`); replaces `default_level`
    /// entirely, like `EnvFilter` (targets it does not name are off unless a bare level is given).
    pub rust_log: Option<String>,
    /// Also print each text line to stdout.
    pub to_stdout: bool,
    /// Write a `close` record with the duration of every phase span (dev: true, prod: false).
    pub phase_spans: bool,
    /// Also send the run's spans as an OpenTelemetry trace (`TraceExport::from_env()`).
    pub trace_export: TraceExport,
}

/// The run's own filter: `RUST_LOG` when given, else `default_level` for every target.
pub(crate) fn run_filter(opts: &RunLogOptions) -> Result<Targets> {
    match opts.rust_log.as_deref().map(str::trim) {
        Some(spec) if !spec.is_empty() => parse_rust_log(spec),
        _ => Ok(Targets::new().with_default(opts.default_level)),
    }
}

/// Parses `RUST_LOG` with `Targets` (the target=level subset of `EnvFilter`). Stricter than
/// `Targets::from_str`, which reads a typo such as `debg` or an empty directive (`info,`) as a
/// target enabled at TRACE, and span/field directives as literal targets.
fn parse_rust_log(spec: &str) -> Result<Targets> {
    let mut targets = Targets::new();
    for directive in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let (target, level) = match directive.split_once('=') {
            Some((target, level)) => (Some(target.trim()), level.trim()),
            None => (None, directive),
        };
        let level: LevelFilter = level.parse().map_err(|_| rust_log_error(directive, "unknown level"))?;
        targets = match target {
            None => targets.with_default(level),
            Some(t) if is_plain_target(t) => targets.with_target(t, level),
            Some(_) => return Err(rust_log_error(directive, "only `target=level` and bare levels are supported")),
        };
    }
    Ok(targets)
}

fn is_plain_target(target: &str) -> bool {
    !target.is_empty() && target.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-' | '.'))
}

fn rust_log_error(directive: &str, why: &str) -> EngineError {
    EngineError::new(
        ErrorCode::ConfigRustLog,
        format!(
            "RUST_LOG directive `{directive}` is invalid: {why}; use e.g. `debug` or `warn,omega_v2::engine=trace` \
             (levels: off, error, warn, info, debug, trace)"
        ),
    )
    .with("field", "RUST_LOG")
}

/// The most verbose level `filter` can enable.
pub(crate) fn most_verbose(filter: &Targets) -> LevelFilter {
    filter.iter().map(|(_, level)| level).chain(filter.default_level()).max().unwrap_or(LevelFilter::OFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(rust_log: Option<&str>) -> RunLogOptions {
        RunLogOptions {
            text_log: PathBuf::new(),
            json_log: PathBuf::new(),
            default_level: Level::WARN,
            rust_log: rust_log.map(String::from),
            to_stdout: false,
            phase_spans: false,
            trace_export: TraceExport::Off,
        }
    }

    #[test]
    fn filter_defaults_and_rust_log_directives() {
        let f = run_filter(&opts(None)).unwrap();
        assert!(f.would_enable("any", &Level::WARN) && !f.would_enable("any", &Level::INFO));
        assert_eq!(most_verbose(&f), LevelFilter::WARN);

        let f = run_filter(&opts(Some(" warn, omega_v2::engine=trace ,"))).unwrap();
        assert!(f.would_enable("omega_v2::engine::loop", &Level::TRACE));
        assert!(!f.would_enable("omega_v2::data", &Level::INFO));
        assert_eq!(most_verbose(&f), LevelFilter::TRACE);

        let f = run_filter(&opts(Some("DEBUG"))).unwrap();
        assert!(f.would_enable("x", &Level::DEBUG));
        assert!(run_filter(&opts(Some(""))).unwrap().would_enable("x", &Level::WARN));
        assert_eq!(most_verbose(&run_filter(&opts(Some("off"))).unwrap()), LevelFilter::OFF);
    }

    #[test]
    fn invalid_rust_log_names_the_variable() {
        for bad in ["debg", "info=verbose", "a=b=c", "foo[{x}]=debug", "[span]=info", "=info"] {
            let err = run_filter(&opts(Some(bad))).unwrap_err();
            assert_eq!(err.code, ErrorCode::ConfigRustLog, "{bad}");
            assert!(err.to_string().contains("RUST_LOG"), "{err}");
        }
    }
}
