//! The bar loop (`engine::run`) on one year of seeded synthetic M1 (2024: 262 weekdays, 377,280
//! bars), SPEC 9. Criterion reports time per run and bars/s (elements); building the strategy
//! (indicators, computed once per run) is excluded from the measurement.
//!
//! Groups:
//! * `engine_loop_1y`: sma_crossover (20/50) and MRZ scenario 1 (defaults), costs on, EUR account.
//! * `engine_loop_tracing_1y`: MRZ scenario 1 under the run's tracing setup, in this order:
//!   `none` (no subscriber installed yet), `prod` (global router + WARN run guard, root span
//!   entered), `dev` (INFO guard + the `backtest_loop` phase span) and `profiling` (dev plus
//!   per-bar and per-event DEBUG spans, as `observability.profiling_mode`).
//!
//! Run: `cargo bench --bench engine_loop -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput};
use omega_v2::config::{Costs, Params, TradeManagement};
use omega_v2::data::synth::{generate_m1, SynthSpec};
use omega_v2::engine::{self, EngineSetup, EntryGates, QuoteConversion};
use omega_v2::execution::management::Manager;
use omega_v2::execution::{CostModel, Sizer};
use omega_v2::market::Bars;
use omega_v2::observability::{self, RunLogContext, RunLogGuard, RunLogOptions};
use omega_v2::specs::{self, MarketSpecs};
use omega_v2::strategy::{MeanReversionZScore, SmaCrossover, StrategyInput};
use omega_v2::timefmt::parse_date;
use serde_json::{json, Map, Value};

fn one_year() -> Bars {
    let (start, end) = (parse_date("2024-01-01").unwrap(), parse_date("2025-01-01").unwrap());
    generate_m1(&SynthSpec::eurusd(start, end, 7))
}

/// The run's setup as `run.rs` builds it from the example config: shipped EURUSD costs
/// (2.5 per lot and side, 0.2 + up to 0.3 pips slippage), risk 100 EUR, pip buffer 0.5 pip.
fn setup<'a>(bars: &'a Bars, specs: &MarketSpecs, profiling: bool) -> EngineSetup<'a> {
    let spec = &specs.symbol;
    let costs = Costs {
        enabled: true,
        fee_multiplier: 1.0,
        slippage_multiplier: 1.0,
        spread_multiplier: 1.0,
        pip_buffer_factor: None,
    };
    EngineSetup {
        bars,
        start_index: 500,
        contract_size: spec.contract_size,
        costs: CostModel::new(&costs, &specs.costs, spec, 42),
        sizer: Sizer::new(spec, 100.0),
        manager: Manager::new(&TradeManagement::default(), spec.pip_size),
        pip_buffer: spec.pip_size * specs.costs.pip_buffer_factor,
        conversion: QuoteConversion::InverseMid,
        initial_balance: 10_000.0,
        gates: EntryGates::default(),
        profiling,
    }
}

/// Which strategy a benchmark runs; built outside the timed part of each iteration.
#[derive(Clone, Copy)]
enum Which {
    Sma,
    Mrz,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Sma => "sma_crossover",
            Which::Mrz => "mean_reversion_z_score",
        }
    }
}

fn bench_loop(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: &str,
    which: Which,
    setup: &EngineSetup,
) {
    let specs = specs::resolve("EURUSD").unwrap();
    let params: Map<String, Value> = match which {
        Which::Sma => json!({"fast": 20, "slow": 50}),
        Which::Mrz => json!({"enabled_scenarios": [1]}),
    }
    .as_object()
    .unwrap()
    .clone();
    let input = || StrategyInput {
        name: which.name(),
        params: Params::new(which.name(), &params),
        bars: setup.bars,
        spec: &specs.symbol,
    };
    let trades = |out: engine::EngineOutput| black_box(out.trades.len());
    match which {
        Which::Sma => group.bench_function(id, |b| {
            b.iter_batched(
                || SmaCrossover::build(&input()).unwrap(),
                |s| trades(engine::run(s, setup, &|| false).unwrap()),
                BatchSize::LargeInput,
            )
        }),
        Which::Mrz => group.bench_function(id, |b| {
            b.iter_batched(
                || MeanReversionZScore::build(&input()).unwrap(),
                |s| trades(engine::run(s, setup, &|| false).unwrap()),
                BatchSize::LargeInput,
            )
        }),
    };
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
    let setup = setup(&bars, &specs, false);
    let mut group = configure(c, "engine_loop_1y", bars.len() - setup.start_index);
    bench_loop(&mut group, "sma_crossover", Which::Sma, &setup);
    bench_loop(&mut group, "mrz_scenario_1", Which::Mrz, &setup);
    group.finish();
}

/// A run's log sink as `run::execute` opens it (files in a temporary directory, no stdout).
fn guard(dir: &std::path::Path, run_id: &str, level: tracing::Level, phase_spans: bool) -> RunLogGuard {
    let ctx = RunLogContext {
        run_id: run_id.to_owned(),
        strategy_name: "mean_reversion_z_score".to_owned(),
        symbol: "EURUSD".to_owned(),
        timeframe: "M1".to_owned(),
    };
    let opts =
        RunLogOptions { log_dir: dir.to_owned(), default_level: level, rust_log: None, to_stdout: false, phase_spans };
    RunLogGuard::start(&ctx, &opts).unwrap()
}

fn tracing_modes(c: &mut Criterion) {
    let bars = one_year();
    let specs = specs::resolve("EURUSD").unwrap();
    let logs = tempfile::tempdir().unwrap();
    let (plain, profiled) = (setup(&bars, &specs, false), setup(&bars, &specs, true));
    let mut group = configure(c, "engine_loop_tracing_1y", bars.len() - plain.start_index);

    // (a) No subscriber at all: must run before the global router is installed.
    bench_loop(&mut group, "none", Which::Mrz, &plain);
    assert!(observability::init_global(), "no other global subscriber in this bench");

    // (b) prod: WARN, no phase spans.
    let prod = guard(logs.path(), "bench-prod", tracing::Level::WARN, false);
    {
        let _root = prod.root_span().enter();
        bench_loop(&mut group, "prod", Which::Mrz, &plain);
    }
    drop(prod);

    // (c) dev: INFO, phase spans, inside `backtest_loop` as in run.rs.
    let dev = guard(logs.path(), "bench-dev", tracing::Level::INFO, true);
    {
        let _root = dev.root_span().enter();
        let _phase = tracing::info_span!("backtest_loop", component = "execution", phase = "loop").entered();
        bench_loop(&mut group, "dev", Which::Mrz, &plain);
    }
    drop(dev);

    // (d) profiling: dev plus per-bar/per-event DEBUG spans.
    let profiling = guard(logs.path(), "bench-profiling", tracing::Level::INFO, true);
    profiling.enable_profiling_spans();
    {
        let _root = profiling.root_span().enter();
        let _phase = tracing::info_span!("backtest_loop", component = "execution", phase = "loop").entered();
        bench_loop(&mut group, "profiling", Which::Mrz, &profiled);
    }
    drop(profiling);
    group.finish();
}

criterion_group!(benches, strategies, tracing_modes);
criterion_main!(benches);
