//! The layer below the run router that hands the spans of exporting runs to their own
//! pipeline (its `tracing-opentelemetry` layer). Which spans are a run's trace:
//!
//! * its root: the first span carrying the `run_id` of a run with export on;
//! * every span whose parent is in the trace, except that profiling mode's per-bar spans
//!   (DEBUG/TRACE) directly below a phase span are exported only when the loop marked them as
//!   sampled (a [`SAMPLED_FIELD`] on the callsite: one bar in
//!   [`DETAIL_SAMPLE_EVERY`](super::DETAIL_SAMPLE_EVERY), at most
//!   [`MAX_DETAIL_SPANS`](super::MAX_DETAIL_SPANS) per run); a sampled one keeps all spans
//!   inside it. The loop samples because it knows the bar indices, and because spans it never
//!   opens cost nothing;
//! * its WARN and ERROR events, as events of their span (ERROR marks the span failed).
//!
//! With no run exporting, every callback returns after one atomic load, and the layer asks for
//! no callsite level (the router's per-run levels stand). While one is, it raises the global
//! level to INFO so that the phase spans exist in prod runs too.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::SpanRef;
use tracing_subscriber::Registry;

use super::pipeline::RunPipeline;
use super::SAMPLED_FIELD;

/// Runs with export on, by `run_id`.
static RUNS: RwLock<BTreeMap<String, Arc<RunPipeline>>> = RwLock::new(BTreeMap::new());
/// `RUNS.len()`, read without the lock on every callback.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

pub fn activate(run_id: &str, pipeline: Arc<RunPipeline>) {
    let mut runs = RUNS.write().unwrap_or_else(PoisonError::into_inner);
    runs.insert(run_id.to_owned(), pipeline);
    ACTIVE.store(runs.len(), Ordering::Release);
}

/// Idempotent. The caller rebuilds the callsite interest afterwards (the router does).
pub fn deactivate(run_id: &str) {
    let mut runs = RUNS.write().unwrap_or_else(PoisonError::into_inner);
    runs.remove(run_id);
    ACTIVE.store(runs.len(), Ordering::Release);
}

fn active() -> bool {
    ACTIVE.load(Ordering::Acquire) > 0
}

/// Extension of a span in a run's trace.
struct Exported {
    run: Arc<RunPipeline>,
    /// A sampled per-bar/per-event span or a span inside one: its children are not sampled again.
    detail: bool,
}

/// Profiling mode's per-bar and per-event spans; phase spans are INFO and the root ERROR.
fn is_detail(meta: &Metadata<'_>) -> bool {
    *meta.level() > Level::INFO
}

/// A detail span the loop picked for export (a static property of its callsite).
fn is_sampled(meta: &Metadata<'_>) -> bool {
    meta.fields().field(SAMPLED_FIELD).is_some()
}

/// The routing layer; see the module docs.
pub struct OtelBridge;

impl OtelBridge {
    fn exported(id: &Id, ctx: &Context<'_, Registry>) -> Option<Arc<RunPipeline>> {
        if !active() {
            return None;
        }
        let span = ctx.span(id)?;
        let run = span.extensions().get::<Exported>().map(|e| Arc::clone(&e.run));
        run
    }

    /// Whether a new span joins a run's trace, and as what.
    fn select(attrs: &Attributes<'_>, span: &SpanRef<'_, Registry>) -> Option<Exported> {
        let meta = attrs.metadata();
        let Some(parent) = span.parent() else { return Self::root(attrs) };
        let ext = parent.extensions();
        let Some(parent) = ext.get::<Exported>() else { return Self::root(attrs) };
        let detail = is_detail(meta);
        if detail && !parent.detail && !(is_sampled(meta) && parent.run.admit_detail()) {
            return None;
        }
        Some(Exported { run: Arc::clone(&parent.run), detail: parent.detail || detail })
    }

    fn root(attrs: &Attributes<'_>) -> Option<Exported> {
        attrs.metadata().fields().field("run_id")?;
        let mut visitor = RunId(None);
        attrs.record(&mut visitor);
        let run = RUNS.read().unwrap_or_else(PoisonError::into_inner).get(visitor.0.as_deref()?).cloned()?;
        run.claim_root().then_some(Exported { run, detail: false })
    }
}

impl Layer<Registry> for OtelBridge {
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(if active() { LevelFilter::INFO } else { LevelFilter::OFF })
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, Registry>) {
        if !active() {
            return;
        }
        let run = {
            let Some(span) = ctx.span(id) else { return };
            let Some(exported) = Self::select(attrs, &span) else { return };
            let run = Arc::clone(&exported.run);
            span.extensions_mut().insert(exported);
            run
        };
        run.layer.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, Registry>) {
        if let Some(run) = Self::exported(id, &ctx) {
            run.layer.on_record(id, values, ctx);
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, Registry>) {
        if let Some(run) = Self::exported(id, &ctx) {
            run.layer.on_follows_from(id, follows, ctx);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, Registry>) {
        if !active() || *event.metadata().level() > Level::WARN {
            return;
        }
        let run = ctx.event_span(event).and_then(|span| {
            let run = span.extensions().get::<Exported>().map(|e| Arc::clone(&e.run));
            run
        });
        if let Some(run) = run {
            run.layer.on_event(event, ctx);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, Registry>) {
        if let Some(run) = Self::exported(id, &ctx) {
            run.layer.on_enter(id, ctx);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, Registry>) {
        if let Some(run) = Self::exported(id, &ctx) {
            run.layer.on_exit(id, ctx);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, Registry>) {
        if let Some(run) = Self::exported(&id, &ctx) {
            run.layer.on_close(id, ctx);
        }
    }
}

/// Reads the `run_id` field of a span.
struct RunId(Option<String>);

impl Visit for RunId {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "run_id" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "run_id" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}
