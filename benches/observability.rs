//! The cost of a disabled `debug!` callsite, the price every per-bar detail pays in a run that
//! does not write it: with no run active (the global level is OFF) and inside a prod run (WARN),
//! with the global router installed as in any process that runs backtests.
//!
//! Run: `cargo bench --bench observability`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use omega_v2::layout::RunPaths;
use omega_v2::observability::{self, RunLogContext, RunLogGuard, RunLogOptions, TraceExport};
use tracing::debug;

/// A prod run's log sink (WARN, no phase spans) under `var`.
fn prod_guard(var: &std::path::Path) -> RunLogGuard {
    let run_id = "bench-prod";
    let ctx = RunLogContext {
        run_id: run_id.to_owned(),
        strategy_name: "sma_crossover".to_owned(),
        symbol: "EURUSD".to_owned(),
        timeframe: "M1".to_owned(),
    };
    let paths = RunPaths::new(var, run_id).unwrap();
    let opts = RunLogOptions {
        text_log: paths.text_log,
        json_log: paths.json_log,
        default_level: tracing::Level::WARN,
        rust_log: None,
        to_stdout: false,
        phase_spans: false,
        trace_export: TraceExport::Off,
    };
    RunLogGuard::start(&ctx, &opts).unwrap()
}

fn disabled_debug(c: &mut Criterion) {
    assert!(observability::init_global(), "no other global subscriber in this bench");
    let mut group = c.benchmark_group("disabled_debug");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("no_run", |b| b.iter(|| debug!(i = black_box(7_u64), "per-bar detail")));
    let var = tempfile::tempdir().unwrap();
    let guard = prod_guard(var.path());
    {
        let _run = guard.root_span().enter();
        group.bench_function("warn_run", |b| b.iter(|| debug!(i = black_box(7_u64), "per-bar detail")));
    }
    drop(guard);
    group.finish();
}

criterion_group!(benches, disabled_debug);
criterion_main!(benches);
