//! The one global subscriber: a `Registry` plus the [`RunRouter`] layer, which sends each
//! record to the run whose root span it happened in.
//!
//! * A span carrying a `run_id` field gets that run's sink; every other span inherits its
//!   parent's. Events find their sink through their span, so records of parallel runs can
//!   never cross, and an event without a run span (an un-propagated worker thread, module
//!   import) is never written to any run file.
//! * Such orphan events go to the `log` crate instead (pyo3-log -> Python `logging` in the
//!   extension; a no-op logger in the pure-Rust binary and tests).
//! * The global max level is the most verbose level any active run wants, so that with only
//!   prod runs (or none) `debug!`/`info!` callsites are rejected by one static compare.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Registry;

use super::format::{with_scratch, Head, Scratch};
use super::sink::RunSink;
use crate::error::{EngineError, ErrorCode, Result};

/// Active runs by `run_id`.
static RUNS: RwLock<BTreeMap<String, Arc<RunSink>>> = RwLock::new(BTreeMap::new());

/// Serialises "change `RUNS`, then rebuild the interest cache": two unordered rebuilds could
/// otherwise leave the max level of a stale map in place (e.g. OFF while a run is active).
static MUTATION: Mutex<()> = Mutex::new(());

/// Installs the global `Registry` + [`RunRouter`] once per process (per extension module).
/// Idempotent and cheap to call again. Returns whether the router is the global subscriber:
/// `false` means another global subscriber was installed first, so runs cannot log.
///
/// In the Python extension, install the `log` logger (pyo3-log) *before* calling this, so the
/// first interest computation already lets orphan WARN+ records through.
pub fn init_global() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| tracing::subscriber::set_global_default(global_subscriber()).is_ok())
}

/// With the `otel` feature, the OpenTelemetry bridge sits below the router (it sees each span
/// first and, with no run exporting, costs one atomic load per callback).
fn global_subscriber() -> impl Subscriber + Send + Sync {
    #[cfg(feature = "otel")]
    let registry = Registry::default().with(super::otel::OtelBridge);
    #[cfg(not(feature = "otel"))]
    let registry = Registry::default();
    registry.with(RunRouter)
}

/// Number of runs with a live [`super::RunLogGuard`].
pub fn active_runs() -> usize {
    read_runs().len()
}

fn read_runs() -> std::sync::RwLockReadGuard<'static, BTreeMap<String, Arc<RunSink>>> {
    RUNS.read().unwrap_or_else(PoisonError::into_inner)
}

/// Opens the run's sink with `open` and registers it; fails if `run_id` is already active
/// (checked before `open`, so an active run's files are never truncated).
pub(crate) fn register(run_id: &str, open: impl FnOnce() -> Result<RunSink>) -> Result<Arc<RunSink>> {
    let _serial = MUTATION.lock().unwrap_or_else(PoisonError::into_inner);
    if read_runs().contains_key(run_id) {
        return Err(EngineError::new(
            ErrorCode::OutputExists,
            format!("a run with run_id `{run_id}` is already active in this process; use a unique run_id"),
        )
        .with("field", "run_id"));
    }
    let sink = Arc::new(open()?);
    RUNS.write().unwrap_or_else(PoisonError::into_inner).insert(run_id.to_owned(), Arc::clone(&sink));
    rebuild_interest();
    Ok(sink)
}

pub(crate) fn unregister(run_id: &str) {
    let _serial = MUTATION.lock().unwrap_or_else(PoisonError::into_inner);
    RUNS.write().unwrap_or_else(PoisonError::into_inner).remove(run_id);
    rebuild_interest();
}

/// Recomputes the global max level after a run's needs changed.
pub(crate) fn refresh_level() {
    let _serial = MUTATION.lock().unwrap_or_else(PoisonError::into_inner);
    rebuild_interest();
}

/// Must not be called while holding the `RUNS` lock: the rebuild calls `max_level_hint`.
fn rebuild_interest() {
    tracing_core::callsite::rebuild_interest_cache();
}

/// Orphan records reach `log` at WARN+ when its max level allows them (a no-op logger leaves
/// it at OFF), so only then do orphan WARN+ callsites need to stay enabled. Orphan INFO and
/// below are best effort: forwarded only while some run keeps that level enabled.
fn orphan_floor() -> LevelFilter {
    LevelFilter::WARN.min(to_level_filter(log::max_level()))
}

fn to_level_filter(level: log::LevelFilter) -> LevelFilter {
    match level {
        log::LevelFilter::Off => LevelFilter::OFF,
        log::LevelFilter::Error => LevelFilter::ERROR,
        log::LevelFilter::Warn => LevelFilter::WARN,
        log::LevelFilter::Info => LevelFilter::INFO,
        log::LevelFilter::Debug => LevelFilter::DEBUG,
        log::LevelFilter::Trace => LevelFilter::TRACE,
    }
}

fn to_log_level(level: &Level) -> log::Level {
    match *level {
        Level::ERROR => log::Level::Error,
        Level::WARN => log::Level::Warn,
        Level::INFO => log::Level::Info,
        Level::DEBUG => log::Level::Debug,
        Level::TRACE => log::Level::Trace,
    }
}

/// Per-span state in the registry's extensions: the run and the context the span's records get.
struct SpanState {
    sink: Arc<RunSink>,
    component: Option<Arc<str>>,
    phase: Option<Arc<str>>,
    /// Set when closing this span writes a `close` record.
    opened: Option<Instant>,
}

/// The routing layer; see the module docs.
pub struct RunRouter;

impl<S> Layer<S> for RunRouter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn max_level_hint(&self) -> Option<LevelFilter> {
        let runs = read_runs().values().map(|sink| sink.level_hint()).max().unwrap_or(LevelFilter::OFF);
        Some(runs.max(orphan_floor()))
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanFields::default();
        attrs.record(&mut fields);
        let parent = span.parent();
        let parent_ext = parent.as_ref().map(|p| p.extensions());
        let parent_state = parent_ext.as_ref().and_then(|ext| ext.get::<SpanState>());
        let sink = match &fields.run_id {
            Some(run_id) => read_runs().get(run_id).cloned(),
            None => parent_state.map(|p| Arc::clone(&p.sink)),
        };
        let Some(sink) = sink else { return };
        // The run's root span is where its sink first appears; only spans below it are phases.
        let is_root = !parent_state.is_some_and(|p| Arc::ptr_eq(&p.sink, &sink));
        let state = SpanState {
            opened: (!is_root && sink.records_close(attrs.metadata())).then(Instant::now),
            component: fields.component.or_else(|| parent_state.and_then(|p| p.component.clone())),
            phase: fields.phase.or_else(|| parent_state.and_then(|p| p.phase.clone())),
            sink,
        };
        drop(parent_ext);
        span.extensions_mut().insert(state);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let span = ctx.event_span(event);
        let ext = span.as_ref().map(|s| s.extensions());
        let Some(state) = ext.as_ref().and_then(|ext| ext.get::<SpanState>()) else {
            return forward_orphan(event);
        };
        if !state.sink.enabled(meta) {
            return;
        }
        with_scratch(|scratch| {
            scratch.record_event(event);
            if let Some(span) = &span {
                push_span_names(scratch, span.scope());
            }
            write_record(scratch, state, meta);
        });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let ext = span.extensions();
        let Some(state) = ext.get::<SpanState>() else { return };
        let Some(opened) = state.opened else { return };
        let busy = opened.elapsed();
        with_scratch(|scratch| {
            scratch.record_close(busy);
            push_span_names(scratch, span.scope());
            write_record(scratch, state, span.metadata());
        });
    }
}

/// Span names root..leaf, without the allocation of `Scope::from_root`.
fn push_span_names<'a, R: LookupSpan<'a>>(scratch: &mut Scratch, scope: tracing_subscriber::registry::Scope<'a, R>) {
    scratch.spans.extend(scope.map(|span| span.name()));
    scratch.spans.reverse();
}

fn write_record(scratch: &mut Scratch, state: &SpanState, meta: &Metadata<'_>) {
    let head = Head {
        level: meta.level(),
        target: meta.target(),
        component: state.component.as_deref(),
        phase: state.phase.as_deref(),
    };
    scratch.render(&head, &state.sink.ctx);
    state.sink.write(meta.level(), &scratch.json, &scratch.text);
}

/// Hands a record from outside any run to the `log` crate, as `message k=v ...`.
fn forward_orphan(event: &Event<'_>) {
    let meta = event.metadata();
    let level = to_log_level(meta.level());
    if level > log::max_level() {
        return;
    }
    with_scratch(|scratch| {
        scratch.record_event(event);
        scratch.push_message_and_fields();
        log::logger().log(
            &log::Record::builder()
                .level(level)
                .target(meta.target())
                .module_path(meta.module_path())
                .file(meta.file())
                .line(meta.line())
                .args(format_args!("{}", scratch.text))
                .build(),
        );
    });
}

/// The span fields the router reads: `run_id` (root) and the inherited `component`/`phase`.
#[derive(Default)]
struct SpanFields {
    run_id: Option<String>,
    component: Option<Arc<str>>,
    phase: Option<Arc<str>>,
}

impl Visit for SpanFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "run_id" => self.run_id = Some(value.to_owned()),
            "component" => self.component = Some(value.into()),
            "phase" => self.phase = Some(value.into()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if matches!(field.name(), "run_id" | "component" | "phase") {
            self.record_str(field, &format!("{value:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observability::{RunLogContext, RunLogGuard, RunLogOptions};

    /// A `log` logger standing in for pyo3-log; the only one in the lib test binary.
    struct Capture(Mutex<Vec<(log::Level, String, String)>>);

    impl log::Log for Capture {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            let entry = (record.level(), record.target().to_owned(), record.args().to_string());
            self.0.lock().unwrap().push(entry);
        }
        fn flush(&self) {}
    }

    static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

    fn captured(needle: &str) -> Vec<(log::Level, String, String)> {
        CAPTURE.0.lock().unwrap().iter().filter(|(_, _, msg)| msg.contains(needle)).cloned().collect()
    }

    #[test]
    fn orphan_records_go_to_log_and_run_records_do_not() {
        let _ = log::set_logger(&CAPTURE);
        log::set_max_level(log::LevelFilter::Warn);
        assert!(init_global());
        rebuild_interest();
        assert!(LevelFilter::current() >= LevelFilter::WARN, "orphan WARN+ must stay enabled");

        tracing::warn!(target: "omega_v2::sweep", grid_points = 4, "orphan-7f3a");
        tracing::info!(target: "omega_v2::sweep", "orphan-7f3a info");
        assert_eq!(
            captured("orphan-7f3a"),
            vec![(log::Level::Warn, "omega_v2::sweep".to_owned(), "orphan-7f3a grid_points=4".to_owned())]
        );

        let dir = tempfile::tempdir().unwrap();
        let ctx = RunLogContext {
            run_id: "router-unit".into(),
            strategy_name: "s".into(),
            symbol: "EURUSD".into(),
            timeframe: "M1".into(),
        };
        let opts = RunLogOptions {
            text_log: dir.path().join("router-unit.log"),
            json_log: dir.path().join("router-unit.jsonl"),
            default_level: Level::INFO,
            rust_log: None,
            to_stdout: false,
            phase_spans: true,
            trace_export: crate::observability::TraceExport::Off,
        };
        let guard = RunLogGuard::start(&ctx, &opts).unwrap();
        guard.root_span().in_scope(|| tracing::warn!("in-run-7f3a"));
        drop(guard);
        assert!(captured("in-run-7f3a").is_empty(), "run records must stay out of `log`");
    }
}
