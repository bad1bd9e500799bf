//! Shared builders of the engine, strategy and metrics tests.
//!
//! Bars are built in memory (one bar per minute from Monday 2025-01-06 00:00 UTC unless stated).
//! Setups are built the one way runs build them, `EngineSetup::new` from a config: the bundled
//! example config with the conventions below applied, then each test's overrides. Signals at
//! given bars come from a scripted strategy; built-in strategies are built through the registry.
//!
//! Conventions of the derivations: EURUSD (contract 100,000, pip 0.0001), 1 lot unless stated,
//! costs off, pip buffer 0, USD account (PnL = price move * lots * 100,000), risk 100 per trade,
//! initial balance 10,000, no sessions, no trade management. Prices of the form 1 + k/256 are
//! exact in binary, so those results are exact too; everything else is compared with a relative
//! tolerance of 1e-9.

// Every test crate compiles this module and uses its own subset of it.
#![allow(dead_code)]

use omega_v2::config::RunConfig;
use omega_v2::domain::{Action, Direction, OrderKind, Signal, Sizing};
use omega_v2::engine::{self, EngineOutput, EngineSetup, LoopProfiling};
use omega_v2::error::Result;
use omega_v2::execution::{ExitReason, Trade};
use omega_v2::market::{Bars, Ohlc};
use omega_v2::specs::{self, ExecutionCosts, FeeModel, MarketSpecs};
use omega_v2::strategy::{self, Extras, Strategy, StrategyInput, StrategyVisitor};
use omega_v2::timefmt::{parse_date, NANOS_PER_MINUTE};
use serde_json::{json, Value as Json};

/// The bundled example config: every field, as Python hands it to the engine.
pub const EXAMPLE_CONFIG: &str = include_str!("../../omega_v2/examples/example_config.json");
pub const MIN: i64 = NANOS_PER_MINUTE;
/// 1 pip spread (ask = bid + SPREAD on every field).
pub const SPREAD: f64 = 0.0001;
pub const INITIAL: f64 = 10_000.0;

// ------------------------------------------------------------------------------------------
// Bars

/// Monday 2025-01-06 00:00 UTC.
pub fn t0() -> i64 {
    parse_date("2025-01-06").unwrap()
}

/// Open time of bar `i` of a minute series starting at [`t0`].
pub fn at(i: usize) -> i64 {
    t0() + i as i64 * MIN
}

/// Bars at the given open times from bid OHLC rows; the ask is `spread` above on every field.
pub fn bars_at(times: &[i64], rows: &[[f64; 4]], spread: f64) -> Bars {
    assert_eq!(times.len(), rows.len());
    let (mut bid, mut ask) = (Ohlc::default(), Ohlc::default());
    for &[o, h, l, c] in rows {
        bid.push(o, h, l, c);
        ask.push(o + spread, h + spread, l + spread, c + spread);
    }
    Bars { time_ns: times.to_vec(), bid, ask }
}

/// One bar per minute from [`t0`].
pub fn bars(rows: &[[f64; 4]], spread: f64) -> Bars {
    bars_at(&(0..rows.len()).map(at).collect::<Vec<_>>(), rows, spread)
}

/// A bar that never moves: open = high = low = close.
pub fn flat(c: f64) -> [f64; 4] {
    [c, c, c, c]
}

pub fn index_of(bars: &Bars, time_ns: i64) -> usize {
    bars.time_ns.binary_search(&time_ns).expect("a bar's open time")
}

// ------------------------------------------------------------------------------------------
// Configs and setups

/// Merges `patch` into `base`: objects key by key (recursively); any other value, `null`
/// included, replaces what was there.
pub fn merge(base: &mut Json, patch: Json) {
    match (base, patch) {
        (Json::Object(base), Json::Object(patch)) => {
            for (key, value) in patch {
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// The example config with the test conventions, then `overrides` merged. Overriding
/// `strategy_name` drops the example's `strategy_parameters` (they belong to its strategy), so
/// the overrides must then give the new strategy's parameters in full.
pub fn config_json(overrides: Json) -> Json {
    let mut c: Json = serde_json::from_str(EXAMPLE_CONFIG).unwrap();
    merge(
        &mut c,
        json!({
            "sessions": null,
            "account": {"initial_balance": INITIAL, "account_currency": "USD", "risk_per_trade": 100.0},
            "costs": {"enabled": false, "pip_buffer_factor": 0.0},
            "news_filter": {"enabled": false},
            "trade_management": {
                "max_holding_minutes": null,
                "break_even": {"enabled": false},
                "trailing": {"enabled": false},
            },
        }),
    );
    if overrides.get("strategy_name").is_some_and(|name| *name != c["strategy_name"]) {
        c["strategy_parameters"] = json!({});
    }
    merge(&mut c, overrides);
    c
}

/// [`config_json`] parsed as the engine parses a run's config.
pub fn config(overrides: Json) -> RunConfig {
    RunConfig::from_json(&config_json(overrides).to_string()).unwrap_or_else(|e| panic!("test config rejected: {e}"))
}

/// Overrides selecting `sma_crossover` with its defaults (fast 20, slow 50, shorts allowed, no
/// SL/TP, 1 lot) and then `params`.
pub fn sma_strategy(params: Json) -> Json {
    let mut p =
        json!({"fast": 20, "slow": 50, "allow_short": true, "sl_pips": null, "tp_pips": null, "size_lots": 1.0});
    merge(&mut p, params);
    json!({"strategy_name": "sma_crossover", "strategy_parameters": p})
}

/// The shipped EURUSD spec and execution costs.
pub fn specs() -> MarketSpecs {
    specs::resolve("EURUSD").unwrap()
}

/// EURUSD with per-lot fees and slippage in pips (fixed + seeded jitter) as execution costs;
/// takes effect with `costs.enabled = true` (multipliers 1 in the example config).
pub fn specs_with_costs(fee_per_lot: f64, slippage_pips: f64, jitter_pips: f64) -> MarketSpecs {
    let mut s = specs();
    s.costs = ExecutionCosts {
        fee_model: FeeModel::PerLot,
        fee_per_lot,
        fee_per_million: 0.0,
        fee_percent: 0.0,
        min_fee: 0.0,
        slippage_fixed_pips: slippage_pips,
        slippage_jitter_pips: jitter_pips,
        pip_buffer_factor: 0.5,
    };
    s
}

/// The setup of `cfg` over `bars`, trading from bar 0, no news blackouts, no profiling.
pub fn setup_of<'a>(cfg: &RunConfig, specs: &MarketSpecs, bars: &'a Bars) -> EngineSetup<'a> {
    EngineSetup::new(cfg, specs, bars, 0, Vec::new(), LoopProfiling::OFF).unwrap()
}

/// The setup of the conventions plus `overrides`.
pub fn setup_with(bars: &Bars, overrides: Json) -> EngineSetup<'_> {
    setup_of(&config(overrides), &specs(), bars)
}

/// The setup of the conventions.
pub fn setup(bars: &Bars) -> EngineSetup<'_> {
    setup_with(bars, json!({}))
}

// ------------------------------------------------------------------------------------------
// Strategies and runs

pub fn run(strategy: impl Strategy, setup: &EngineSetup) -> EngineOutput {
    engine::run(strategy, setup, &|_| false).unwrap()
}

/// A registered strategy's run: what the strategy reported about itself, and the loop's output.
pub struct Ran {
    pub first_signal_index: usize,
    pub cooldown_bars: usize,
    pub out: EngineOutput,
}

struct RunVisitor<'a>(&'a EngineSetup<'a>);

impl StrategyVisitor for RunVisitor<'_> {
    type Output = Ran;
    fn visit<S: Strategy>(self, strategy: S) -> Ran {
        let (first_signal_index, cooldown_bars) = (strategy.first_signal_index(), strategy.cooldown_bars());
        Ran { first_signal_index, cooldown_bars, out: run(strategy, self.0) }
    }
}

/// Builds the config's strategy through the registry, as a run does, and runs it on `setup`.
pub fn run_registered(cfg: &RunConfig, specs: &MarketSpecs, setup: &EngineSetup) -> Result<Ran> {
    run_registered_with(cfg, specs, setup, Extras::default())
}

/// [`run_registered`] handing the strategy `extras` (a signals frame, a user strategy).
pub fn run_registered_with(cfg: &RunConfig, specs: &MarketSpecs, setup: &EngineSetup, extras: Extras) -> Result<Ran> {
    let input = StrategyInput {
        name: &cfg.strategy_name,
        params: &cfg.strategy_parameters,
        bars: setup.bars,
        start_index: setup.start_index,
        spec: &specs.symbol,
        extras,
    };
    strategy::with_strategy(&input, RunVisitor(setup))
}

/// The config of the conventions plus `overrides`, its setup and its registered strategy.
pub fn run_config(bars: &Bars, overrides: Json) -> Result<Ran> {
    let (cfg, specs) = (config(overrides), specs());
    run_registered(&cfg, &specs, &setup_of(&cfg, &specs, bars))
}

/// A test strategy whose decision is a closure of (bar, bars, open position).
pub struct Scripted<F> {
    decide: F,
    cooldown: usize,
}

impl<F: FnMut(usize, &Bars, Option<Direction>) -> Action> Scripted<F> {
    pub fn new(decide: F) -> Self {
        Self { decide, cooldown: 0 }
    }

    /// The strategy's `cooldown_bars` (the engine's cooldown gate reads it from the strategy).
    pub fn with_cooldown(self, bars: usize) -> Self {
        Self { cooldown: bars, ..self }
    }
}

impl<F: FnMut(usize, &Bars, Option<Direction>) -> Action> Strategy for Scripted<F> {
    fn first_signal_index(&self) -> usize {
        0
    }
    fn decide(&mut self, t: usize, bars: &Bars, position: Option<Direction>) -> Action {
        (self.decide)(t, bars, position)
    }
    fn cooldown_bars(&self) -> usize {
        self.cooldown
    }
}

/// Returns the given action at the given bars and holds otherwise.
pub fn script(actions: Vec<(usize, Action)>) -> Scripted<impl FnMut(usize, &Bars, Option<Direction>) -> Action> {
    Scripted::new(move |t: usize, _: &Bars, _: Option<Direction>| {
        actions.iter().find(|(i, _)| *i == t).map_or(Action::Hold, |(_, a)| a.clone())
    })
}

/// A one-lot signal.
pub fn signal(direction: Direction, kind: OrderKind, entry: f64, sl: Option<f64>, tp: Option<f64>) -> Signal {
    Signal {
        direction,
        kind,
        entry_price: entry,
        stop_loss: sl,
        take_profit: tp,
        sizing: Sizing::Lots(1.0),
        scenario_id: 0,
        snapshot: vec![],
    }
}

/// A one-lot market signal at the close of the entry side of bar `t`.
pub fn market(bars: &Bars, t: usize, d: Direction, sl: Option<f64>, tp: Option<f64>) -> Signal {
    signal(d, OrderKind::Market, bars.entry_side(d).close[t], sl, tp)
}

// ------------------------------------------------------------------------------------------
// Assertions

pub fn only_trade(out: &EngineOutput) -> &Trade {
    assert_eq!(out.trades.len(), 1, "expected exactly one trade: {:?}", out.trades);
    &out.trades[0]
}

/// Entry bar of every trade.
pub fn entry_bars(out: &EngineOutput, bars: &Bars) -> Vec<usize> {
    out.trades.iter().map(|t| index_of(bars, t.entry_time_ns)).collect()
}

#[track_caller]
pub fn approx(actual: f64, expected: f64) {
    assert!((actual - expected).abs() <= 1e-9 * expected.abs().max(1.0), "{actual} != {expected} (expected)");
}

/// Direction, entry (bar, price), exit (bar, price), result and exit reason of a trade.
#[track_caller]
pub fn assert_trade(
    t: &Trade,
    bars: &Bars,
    d: Direction,
    entry: (usize, f64),
    exit: (usize, f64),
    result: f64,
    reason: ExitReason,
) {
    assert_eq!(t.direction, d);
    assert_eq!((index_of(bars, t.entry_time_ns), t.entry_price), entry, "entry bar and price");
    assert_eq!((index_of(bars, t.exit_time_ns), t.exit_price), exit, "exit bar and price");
    approx(t.result, result);
    assert_eq!(t.reason, reason);
}

/// The names of a trade's snapshot values, in order.
pub fn snapshot_names(t: &Trade) -> Vec<&str> {
    t.snapshot.iter().map(|(k, _)| k.as_ref()).collect()
}
