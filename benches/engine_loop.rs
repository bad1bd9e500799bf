//! The bar loop (`engine::run`) on one year of seeded synthetic M1 (2024: 262 weekdays, 377,280
//! bars). Criterion reports time per run and bars/s (elements); building the strategy
//! (indicators, computed once per run) is excluded from the measurement.
//!
//! Groups:
//! * `engine_loop_1y`: sma_crossover (20/50) and MRZ scenario 1 (defaults), costs on, EUR account.
//! * `engine_loop_tracing_1y`: MRZ scenario 1 under the run's tracing setup, in this order:
//!   `none` (no subscriber installed yet), `prod` (global router + WARN run guard, root span
//!   entered), `dev` (INFO guard + the `backtest_loop` phase span), `profiling` (dev plus the
//!   bar timer, as `observability.profiling_mode`) and `profiling_trace` (profiling with
//!   per-bar and per-event TRACE spans, as with `RUST_LOG=omega_v2::engine=trace`).
//!
//! Run: `cargo bench --bench engine_loop -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput};
use omega_v2::config::RunConfig;
use omega_v2::data::synth::{generate_m1, SynthSpec};
use omega_v2::engine::{self, DetailSpans, EngineSetup, LoopProfiling};
use omega_v2::layout::RunPaths;
use omega_v2::market::Bars;
use omega_v2::observability::{self, RunLogContext, RunLogGuard, RunLogOptions, TraceExport};
use omega_v2::specs::{self, MarketSpecs};
use omega_v2::strategy::{self, Build, MeanReversionZScore, SmaCrossover, StrategyInput};
use omega_v2::timefmt::parse_date;
use serde_json::{json, Value};

const EXAMPLE_CONFIG: &str = include_str!("../omega_v2/examples/example_config.json");
/// Warmup bars before the first traded bar, as the example config asks.
const START_INDEX: usize = 500;

fn one_year() -> Bars {
    let (start, end) = (parse_date("2024-01-01").unwrap(), parse_date("2025-01-01").unwrap());
    generate_m1(&SynthSpec::eurusd(start, end, 7))
}

/// The example config (shipped EURUSD costs on: 2.5 per lot and side, 0.2 + up to 0.3 pips
/// slippage; risk 100 EUR on a EUR account; pip buffer 0.5 pip; seed 42) running `strategy`
/// with `params` over the example's parameters (or in place of them for another strategy).
fn config(strategy: &str, params: Value) -> RunConfig {
    let mut c: Value = serde_json::from_str(EXAMPLE_CONFIG).unwrap();
    if c["strategy_name"] != strategy {
        c["strategy_name"] = json!(strategy);
        c["strategy_parameters"] = json!({});
    }
    let target = c["strategy_parameters"].as_object_mut().unwrap();
    target.extend(params.as_object().unwrap().clone());
    RunConfig::from_json(&c.to_string()).unwrap()
}

fn sma_config() -> RunConfig {
    let params =
        json!({"fast": 20, "slow": 50, "allow_short": true, "sl_pips": null, "tp_pips": null, "size_lots": 1.0});
    config("sma_crossover", params)
}

fn mrz_config() -> RunConfig {
    config("mean_reversion_z_score", json!({"enabled_scenarios": [1]}))
}

/// The loop's setup as a run builds it.
fn setup<'a>(cfg: &RunConfig, specs: &MarketSpecs, bars: &'a Bars, profiling: LoopProfiling) -> EngineSetup<'a> {
    EngineSetup::new(cfg, specs, bars, START_INDEX, Vec::new(), profiling).unwrap()
}

/// Times `engine::run` of strategy `S` built from `cfg` (parameters checked as the registry
/// does); the build is outside the timed part of each iteration.
fn bench_loop<S: Build>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: &str,
    cfg: &RunConfig,
    setup: &EngineSetup,
) {
    let specs = specs::resolve(&cfg.symbol).unwrap();
    strategy::check_parameters(&cfg.strategy_name, &cfg.strategy_parameters).unwrap();
    let input = StrategyInput {
        name: &cfg.strategy_name,
        params: &cfg.strategy_parameters,
        bars: setup.bars,
        start_index: setup.start_index,
        spec: &specs.symbol,
        extras: Default::default(),
    };
    let build = || {
        let params: S::Params = serde_json::from_value(cfg.strategy_parameters.clone()).unwrap();
        S::build(params, &input).unwrap()
    };
    group.bench_function(id, |b| {
        b.iter_batched(
            build,
            |s| black_box(engine::run(s, setup, &|_| false).unwrap().trades.len()),
            BatchSize::LargeInput,
        )
    });
}

fn configure<'a>(
    c: &'a mut Criterion,
    name: &str,
    bars: usize,
) -> BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(bars as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group
}

fn strategies(c: &mut Criterion) {
    let bars = one_year();
    let specs = specs::resolve("EURUSD").unwrap();
    let (sma, mrz) = (sma_config(), mrz_config());
    let mut group = configure(c, "engine_loop_1y", bars.len() - START_INDEX);
    let off = LoopProfiling::OFF;
    bench_loop::<SmaCrossover>(&mut group, "sma_crossover", &sma, &setup(&sma, &specs, &bars, off));
    bench_loop::<MeanReversionZScore>(&mut group, "mrz_scenario_1", &mrz, &setup(&mrz, &specs, &bars, off));
    group.finish();
}

/// A run's log sink as `run::execute` opens it (files in a temporary var dir, no stdout).
fn guard(var: &Path, run_id: &str, level: tracing::Level, phase_spans: bool) -> RunLogGuard {
    guard_with(var, run_id, level, None, phase_spans)
}

fn guard_with(
    var: &Path,
    run_id: &str,
    level: tracing::Level,
    rust_log: Option<&str>,
    phase_spans: bool,
) -> RunLogGuard {
    let ctx = RunLogContext {
        run_id: run_id.to_owned(),
        strategy_name: "mean_reversion_z_score".to_owned(),
        symbol: "EURUSD".to_owned(),
        timeframe: "M1".to_owned(),
    };
    let paths = RunPaths::new(var, run_id).unwrap();
    let opts = RunLogOptions {
        text_log: paths.text_log,
        json_log: paths.json_log,
        default_level: level,
        rust_log: rust_log.map(str::to_owned),
        to_stdout: false,
        phase_spans,
        trace_export: TraceExport::Off,
    };
    RunLogGuard::start(&ctx, &opts).unwrap()
}

fn tracing_modes(c: &mut Criterion) {
    let bars = one_year();
    let specs = specs::resolve("EURUSD").unwrap();
    let var = tempfile::tempdir().unwrap();
    let mrz = mrz_config();
    let plain = setup(&mrz, &specs, &bars, LoopProfiling::OFF);
    let profiled = setup(&mrz, &specs, &bars, LoopProfiling { bar_times: true, spans: DetailSpans::None });
    let traced = setup(&mrz, &specs, &bars, LoopProfiling { bar_times: true, spans: DetailSpans::Every });
    let mut group = configure(c, "engine_loop_tracing_1y", bars.len() - START_INDEX);
    let mut bench = |id: &str, setup: &EngineSetup| bench_loop::<MeanReversionZScore>(&mut group, id, &mrz, setup);

    // (a) No subscriber at all: must run before the global router is installed.
    bench("none", &plain);
    assert!(observability::init_global(), "no other global subscriber in this bench");

    // (b) prod: WARN, no phase spans.
    let prod = guard(var.path(), "bench-prod", tracing::Level::WARN, false);
    {
        let _root = prod.root_span().enter();
        bench("prod", &plain);
    }
    drop(prod);

    // (c) dev: INFO, phase spans, inside `backtest_loop` as in a run.
    let dev = guard(var.path(), "bench-dev", tracing::Level::INFO, true);
    {
        let _root = dev.root_span().enter();
        let _phase = tracing::info_span!("backtest_loop", component = "execution", phase = "loop").entered();
        bench("dev", &plain);
    }
    drop(dev);

    // (d) profiling: dev plus the bar timer.
    let profiling = guard(var.path(), "bench-profiling", tracing::Level::INFO, true);
    {
        let _root = profiling.root_span().enter();
        let _phase = tracing::info_span!("backtest_loop", component = "execution", phase = "loop").entered();
        bench("profiling", &profiled);
    }
    drop(profiling);

    // (e) profiling with every per-bar/per-event TRACE span (closes written to the run's log).
    let trace = guard_with(
        var.path(),
        "bench-profiling-trace",
        tracing::Level::INFO,
        Some("info,omega_v2::engine=trace"),
        true,
    );
    {
        let _root = trace.root_span().enter();
        let _phase = tracing::info_span!("backtest_loop", component = "execution", phase = "loop").entered();
        bench("profiling_trace", &traced);
    }
    drop(trace);
    group.finish();
}

criterion_group!(benches, strategies, tracing_modes);
criterion_main!(benches);
