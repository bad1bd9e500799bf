//! The cost of a disabled `debug!` callsite, the price every per-bar detail pays in a run that
//! does not write it: with no run active (the global level is OFF) and inside a prod run (WARN),
//! with the global router installed as in any process that runs backtests.
//!
//! And what the crash safety of the logs costs: an INFO record (buffered), a WARN record
//! (written through at once, so it survives a SIGKILL), the flush at a phase boundary (a run
//! has four) and the fsync before the commit (one per run), on the filesystem of the temp dir.
//!
//! Run: `cargo bench --bench observability`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use omega_v2::layout::RunPaths;
use omega_v2::observability::{self, RunLogContext, RunLogGuard, RunLogOptions, TraceExport};
use tracing::{debug, info, warn};

/// A run's log sink at `level` (no phase spans) under `var`.
fn guard(var: &std::path::Path, run_id: &str, level: tracing::Level) -> RunLogGuard {
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
        default_level: level,
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
    let prod = guard(var.path(), "bench-prod", tracing::Level::WARN);
    {
        let _run = prod.root_span().enter();
        group.bench_function("warn_run", |b| b.iter(|| debug!(i = black_box(7_u64), "per-bar detail")));
    }
    drop(prod);
    group.finish();
}

fn log_flushes(c: &mut Criterion) {
    assert!(observability::init_global(), "no other global subscriber in this bench");
    let mut group = c.benchmark_group("log_flush");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    // Millions of records: in memory where there is a tmpfs (a write to the page cache costs
    // the same there); the fsync below is measured on the temp dir's real filesystem.
    let shm = std::path::Path::new("/dev/shm");
    let records = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap();
    let dev = guard(records.path(), "bench-dev", tracing::Level::INFO);
    let run = dev.root_span().enter();
    group.bench_function("info_record_buffered", |b| b.iter(|| info!(bars = black_box(7_u64), "phase detail")));
    group.bench_function("warn_record_written_through", |b| {
        b.iter(|| warn!(count = black_box(7_u64), "position sizes clamped"))
    });
    // A phase boundary: the records of a phase (about three) reach the file.
    group.bench_function("phase_boundary_flush", |b| {
        b.iter(|| {
            for i in 0..3_u64 {
                info!(bars = black_box(i), "phase detail");
            }
            dev.flush().unwrap()
        })
    });
    group.bench_function("three_buffered_records_without_flush", |b| {
        b.iter(|| {
            for i in 0..3_u64 {
                info!(bars = black_box(i), "phase detail");
            }
        })
    });
    drop(run);
    drop(dev);
    let disk = tempfile::tempdir().unwrap();
    let committing = guard(disk.path(), "bench-commit", tracing::Level::INFO);
    let _run = committing.root_span().enter();
    group.sample_size(20);
    group.bench_function("fsync_before_commit", |b| {
        b.iter(|| {
            info!(trades = black_box(7_u64), "run finished");
            committing.sync().unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, disabled_debug, log_flushes);
criterion_main!(benches);
