//! Per-run tracing sinks for a process that runs many backtests, one after another and in
//! parallel threads (see `docs/observability.md`).
//!
//! One global `Registry` + [`RunRouter`] ([`init_global`]) is installed once; each run opens
//! its own sink with [`RunLogGuard::start`] and enters [`RunLogGuard::root_span`]:
//!
//! ```no_run
//! # use omega_v2::observability::*;
//! # fn run(ctx: &RunLogContext, opts: &RunLogOptions) -> omega_v2::error::Result<()> {
//! let guard = RunLogGuard::start(ctx, opts)?;
//! let _entered = guard.root_span().enter();
//! let _phase = tracing::info_span!("data_load", component = "data_load", phase = "init").entered();
//! tracing::info!(rows = 300, "bars loaded");
//! # Ok(()) }
//! ```
//!
//! * Files: the run's `<run_id>.log` (text, also stdout when asked) and `<run_id>.jsonl`.
//!   Every record carries `run_id`, `strategy_name`, `symbol`, `timeframe` from the sink
//!   itself, plus `component`/`phase` inherited from the span fields of that name.
//! * Levels: each run has its own filter (`default_level`, or `RUST_LOG` as `Targets`). The
//!   global max level is the most verbose level over active runs (OFF with none), so
//!   disabled `debug!`/`info!` callsites cost one compare. The root span is ERROR so that it
//!   exists, and carries the context, at every level but OFF.
//! * Phase spans: closing a span below the root writes a `close` record with `duration_ns` and
//!   `duration_ms` (creation to close) when the run has `phase_spans` and its filter enables
//!   the span's level and target. The sampled per-bar TRACE spans of a profiled run that
//!   exports a trace therefore exist (see [`RunLogGuard::enable_detail_spans`]) without being
//!   written, unless `RUST_LOG` asks for TRACE on their target.
//! * Threads: the current span is thread-local. Work on other threads must enter the run's
//!   span ([`spawn_in_run`], [`in_current_span`]); events of a thread that does not are never
//!   written to any run file.
//! * Orphan records (outside any run) go to the `log` crate, which pyo3-log bridges to Python
//!   `logging` in the extension. WARN+ orphans always get there when `log`'s max level allows
//!   them; INFO and below only while an active run keeps that level enabled globally, so that
//!   orphans never slow down `info!` callsites when no run wants them.
//! * Span fields are read when the span is created; `Span::record` later does not change
//!   routing or context.
//! * Trace export (cargo feature `otel`, switched on per run by [`RunLogOptions::trace_export`]):
//!   the run's spans also become one OpenTelemetry trace, sent when the guard drops (see
//!   [`otel`]). Without it nothing of the above changes.

mod context;
mod format;
pub mod otel;
mod redact;
mod router;
mod sink;

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use tracing::Span;

pub use context::{RunLogContext, RunLogOptions};
pub use otel::TraceExport;
pub use redact::{allowlisted, ALLOWLIST};
pub use router::{active_runs, init_global, RunRouter};

use crate::error::{EngineError, ErrorCode, Result};
use sink::RunSink;

/// A run's registered sink and root span. Dropping it (success, error, panic unwind, Ctrl-C
/// turned into an error) flushes and closes both files and unregisters the run.
pub struct RunLogGuard {
    sink: Arc<RunSink>,
    root: Span,
    #[cfg(feature = "otel")]
    trace: Option<otel::RunTrace>,
}

impl RunLogGuard {
    /// Validates `run_id` and `RUST_LOG`, opens the run's files and registers the run.
    /// Errors: invalid `run_id`/`RUST_LOG` or a `run_id` already active (config errors), an
    /// unwritable log directory (output error), a foreign global subscriber (internal error).
    pub fn start(ctx: &RunLogContext, opts: &RunLogOptions) -> Result<Self> {
        crate::layout::validate_run_id(&ctx.run_id)?;
        let filter = context::run_filter(opts)?;
        if !init_global() {
            return Err(EngineError::new(
                ErrorCode::InternalSubscriber,
                "another global tracing subscriber was installed before omega_v2's run router; \
                 remove it, or call omega_v2::observability::init_global() first",
            ));
        }
        let sink = router::register(&ctx.run_id, || RunSink::open(ctx, opts, filter))?;
        let mut guard = Self {
            sink,
            root: Span::none(),
            #[cfg(feature = "otel")]
            trace: None,
        };
        // Before the root span exists (it must be the trace's first span); on error, dropping
        // the guard unregisters the run.
        #[cfg(feature = "otel")]
        {
            guard.trace = otel::RunTrace::start(&ctx.run_id, &opts.trace_export)?;
            if guard.trace.is_some() {
                router::refresh_level();
            }
        }
        // `parent: None`: a run started inside another span (a sweep, another run) is a root.
        guard.root = tracing::error_span!(
            parent: None,
            "backtest_run",
            run_id = %ctx.run_id,
            strategy_name = %ctx.strategy_name,
            symbol = %ctx.symbol,
            timeframe = %ctx.timeframe,
        );
        #[cfg(not(feature = "otel"))]
        if !opts.trace_export.is_off() {
            guard.root.in_scope(|| {
                tracing::warn!(
                    component = "otel",
                    variable = otel::EXPORTER_ENV,
                    "OpenTelemetry export was asked for but this build has no `otel` feature; no trace is sent"
                )
            });
        }
        Ok(guard)
    }

    /// The run's root span; enter it for the whole run: `let _e = guard.root_span().enter();`.
    /// With trace export, drop every clone before the guard: the root closes (and joins the
    /// trace) when the guard drops its own handle.
    pub fn root_span(&self) -> &Span {
        &self.root
    }

    /// Flushes both files; reports the first write failure of the run as an output error.
    pub fn flush(&self) -> Result<()> {
        self.sink.flush()
    }

    /// Flushes both files and syncs them to disk; reports the first write failure of the run.
    pub fn sync(&self) -> Result<()> {
        self.sink.sync()
    }

    pub fn text_log_path(&self) -> &Path {
        self.sink.text_path()
    }

    pub fn json_log_path(&self) -> &Path {
        self.sink.json_path()
    }

    /// Whether this run's log filter writes records of `level` for `target`.
    pub fn writes(&self, target: &str, level: tracing::Level) -> bool {
        self.sink.writes(target, &level)
    }

    /// Whether this run's spans are also sent as an OpenTelemetry trace.
    pub fn exports_trace(&self) -> bool {
        #[cfg(feature = "otel")]
        return self.trace.is_some();
        #[cfg(not(feature = "otel"))]
        false
    }

    /// Make TRACE spans (the loop's sampled per-bar spans for the trace export) exist for this
    /// run even when its filter writes nothing below INFO. TRACE events still go through the
    /// run's filter.
    pub fn enable_detail_spans(&self) {
        self.sink.enable_detail_spans();
        router::refresh_level();
    }
}

impl Drop for RunLogGuard {
    fn drop(&mut self) {
        #[cfg(feature = "otel")]
        self.send_trace();
        self.sink.close();
        router::unregister(&self.sink.ctx.run_id);
    }
}

#[cfg(feature = "otel")]
impl RunLogGuard {
    /// Closes the root span and sends the trace; a failure becomes one WARN record of the run.
    fn send_trace(&mut self) {
        let Some(trace) = self.trace.take() else { return };
        drop(std::mem::replace(&mut self.root, Span::none()));
        if let Err(failure) = trace.finish() {
            // The root is closed and the run no longer exporting: a fresh root span of the run
            // routes the record to its log and is not part of any trace.
            let run_id = &self.sink.ctx.run_id;
            let _span =
                tracing::error_span!(parent: None, "otel_export", run_id = %run_id, component = "otel").entered();
            tracing::warn!(
                exporter = failure.exporter,
                destination = %failure.destination,
                spans = failure.spans,
                reason = %failure.reason,
                "OpenTelemetry export failed; this run's trace is lost (its results are not affected)"
            );
        }
    }
}

/// Wraps `f` so that it runs inside the caller's current span, on whatever thread it ends up
/// (`std::thread::scope`, rayon tasks): `s.spawn(in_current_span(|| work()))`.
pub fn in_current_span<F, T>(f: F) -> impl FnOnce() -> T
where
    F: FnOnce() -> T,
{
    let span = Span::current();
    move || span.in_scope(f)
}

/// `std::thread::spawn` that keeps the caller's run context.
pub fn spawn_in_run<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    std::thread::spawn(in_current_span(move || {
        let _sampled = crate::sampling::sample_this_thread();
        f()
    }))
}
