//! Properties of whole loops on seeded synthetic data, over random strategies, parameters and
//! engine settings: bookkeeping invariants (balance and equity recomputed independently from
//! the trades) and determinism per seed (conventions in `common`).

mod common;

use common::*;
use omega_v2::data::synth::{generate_m1, SynthSpec};
use omega_v2::domain::Direction::Long;
use omega_v2::engine::{DetailSpans, EngineOutput, EngineSetup, LoopProfiling};
use omega_v2::execution::Trade;
use omega_v2::market::Bars;
use omega_v2::timefmt::NANOS_PER_DAY;
use proptest::prelude::ProptestConfig;
use proptest::prelude::{any, prop_assert, prop_assert_eq, prop_assert_ne, prop_assume, prop_oneof, proptest, Just};
use proptest::strategy::Strategy as _;
use serde_json::{json, Value as Json};

#[derive(Debug, Clone)]
struct Case {
    /// Strategy overrides (name and parameters).
    strategy: Json,
    data_seed: u64,
    days: i64,
    start_index: usize,
    max_holding: Option<i64>,
    break_even: bool,
    trailing: bool,
    pip_buffer_factor: f64,
    eur_account: bool,
}

fn case() -> impl proptest::strategy::Strategy<Value = Case> {
    let sma =
        (2usize..12, 1usize..30, any::<bool>(), proptest::option::of(5.0..40.0f64), proptest::option::of(5.0..60.0f64))
            .prop_map(|(fast, gap, allow_short, sl, tp)| {
                sma_strategy(
                    json!({"fast": fast, "slow": fast + gap, "allow_short": allow_short, "sl_pips": sl, "tp_pips": tp}),
                )
            });
    let scenarios = prop_oneof![Just(json!([1])), Just(json!([2])), Just(json!([3])), Just(json!([1, 2, 3]))];
    let filter = prop_oneof![Just("long"), Just("short"), Just("both")];
    let mrz = (5usize..30, 3usize..30, 2usize..20, 0.5..3.0f64, 1.0..2.5f64, scenarios, filter, 0usize..4).prop_map(
        |(window, ema, atr, mult, z, scenarios, filter, cooldown)| {
            json!({"strategy_parameters": {"window_length": window, "ema_length": ema, "atr_length": atr,
                "atr_mult": mult, "z_score_long": -z, "z_score_short": z, "enabled_scenarios": scenarios,
                "direction_filter": filter, "cooldown_bars": cooldown}})
        },
    );
    let engine = (any::<u64>(), 1i64..3, 0usize..200, proptest::option::of(5i64..240), any::<bool>(), any::<bool>());
    let more = (prop_oneof![Just(0.0), Just(0.5)], any::<bool>());
    (prop_oneof![sma, mrz], engine, more).prop_map(
        |(
            strategy,
            (data_seed, days, start_index, max_holding, break_even, trailing),
            (pip_buffer_factor, eur_account),
        )| {
            Case {
                strategy,
                data_seed,
                days,
                start_index,
                max_holding,
                break_even,
                trailing,
                pip_buffer_factor,
                eur_account,
            }
        },
    )
}

/// `days` days of synthetic M1 from [`t0`].
fn synth_bars(seed: u64, days: i64) -> Bars {
    generate_m1(&SynthSpec::eurusd(t0(), t0() + days * NANOS_PER_DAY, seed))
}

/// Runs a case with the shipped EURUSD costs on (2.5 per lot and side, 0.2 pips + up to 0.3
/// pips of jitter seeded by `cost_seed`).
fn run_case(c: &Case, b: &Bars, cost_seed: u64, profiling: LoopProfiling) -> EngineOutput {
    let mut overrides = json!({
        "rng_seed": cost_seed,
        "account": {"account_currency": if c.eur_account { "EUR" } else { "USD" }},
        "costs": {"enabled": true, "pip_buffer_factor": c.pip_buffer_factor},
        "trade_management": {
            "max_holding_minutes": c.max_holding,
            "break_even": {"enabled": c.break_even, "trigger_r": 1.0, "offset_pips": 0.5},
            "trailing": {"enabled": c.trailing, "activation_r": 1.5, "distance_pips": 5.0},
        },
    });
    merge(&mut overrides, c.strategy.clone());
    let (cfg, specs) = (config(overrides), specs());
    let setup = EngineSetup::new(&cfg, &specs, b, c.start_index, Vec::new(), profiling).unwrap();
    run_registered(&cfg, &specs, &setup).unwrap().out
}

fn fingerprint(out: &EngineOutput) -> (String, Vec<u64>, Vec<u64>) {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect();
    (format!("{:?}", out.trades), bits(&out.equity), bits(&out.balance))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn bookkeeping_invariants_on_synthetic_data(c in case()) {
        let b = synth_bars(c.data_seed, c.days);
        let out = run_case(&c, &b, c.data_seed ^ 0x5EED, LoopProfiling::OFF);
        let n = b.len();
        prop_assert_eq!(out.equity.len(), n - c.start_index);
        prop_assert_eq!(out.balance.len(), n - c.start_index);
        for t in &out.trades {
            let values = [t.entry_price, t.exit_price, t.size, t.result, t.fees];
            prop_assert!(values.iter().chain(t.r_multiple.iter()).all(|v| v.is_finite()), "{:?}", t);
            prop_assert!(t.exit_time_ns >= t.entry_time_ns && t.entry_time_ns >= b.time_ns[c.start_index]);
            prop_assert!(t.size >= 0.01 && t.size <= 200.0 && t.fees > 0.0);
        }
        prop_assert!(out.equity.iter().chain(&out.balance).all(|v| v.is_finite()));
        prop_assert!(out.trades.windows(2).all(|w| w[0].exit_time_ns <= w[1].exit_time_ns), "sorted by exit time");
        // At most one position at a time: the next trade enters at or after the previous exit.
        prop_assert!(out.trades.windows(2).all(|w| w[1].entry_time_ns >= w[0].exit_time_ns));

        // Every row: balance = initial + closed results - fees booked so far (per-lot fees are
        // equal on both sides), equity = balance + the open position marked at its exit side.
        let span = |t: &Trade| (index_of(&b, t.entry_time_ns), index_of(&b, t.exit_time_ns));
        for (row, i) in (c.start_index..n).enumerate() {
            let mut balance = INITIAL;
            let mut open = 0.0;
            for t in &out.trades {
                let (entry, exit) = span(t);
                if entry <= i { balance -= t.fees / 2.0; }
                if exit <= i { balance += t.result - t.fees / 2.0; }
                if entry <= i && i < exit {
                    let close = if t.direction == Long { b.bid.close[i] } else { b.ask.close[i] };
                    let rate = if c.eur_account { 2.0 / (b.bid.close[i] + b.ask.close[i]) } else { 1.0 };
                    open = (close - t.entry_price) * t.direction.sign() * t.size * 100_000.0 * rate;
                }
            }
            prop_assert!((out.balance[row] - balance).abs() < 1e-6, "balance row {}: {} vs {}", row, out.balance[row], balance);
            prop_assert!((out.equity[row] - balance - open).abs() < 1e-6, "equity row {}", row);
        }
        let last = out.equity.len() - 1;
        prop_assert_eq!(out.equity[last], out.balance[last], "flat after end of data");
        let net: f64 = out.trades.iter().map(Trade::net).sum();
        prop_assert!((net - (out.balance[last] - INITIAL)).abs() < 1e-6);
        prop_assert_eq!(out.counters.orders_filled, 2 * out.trades.len() as u64);
    }

    #[test]
    fn runs_are_deterministic_per_seed(c in case()) {
        let b = synth_bars(c.data_seed, c.days);
        let seed = c.data_seed.rotate_left(7);
        let first = run_case(&c, &b, seed, LoopProfiling::OFF);
        // Only cases that trade prove anything (and proptest fails if too few do).
        prop_assume!(!first.trades.is_empty());
        prop_assert_eq!(fingerprint(&first), fingerprint(&run_case(&c, &b, seed, LoopProfiling::OFF)));
        // Profiling (bar times, detail spans) never changes results; it times bars only then.
        prop_assert!(first.bar_times.is_none());
        for spans in [DetailSpans::None, DetailSpans::Every, DetailSpans::Sampled] {
            let profiled = run_case(&c, &b, seed, LoopProfiling { bar_times: true, spans });
            prop_assert_eq!(fingerprint(&first), fingerprint(&profiled));
            let timed = profiled.bar_times.and_then(|t| t.summary()).map(|s| s.samples);
            // The first bar the loop processed and every BAR_SAMPLE_EVERY-th after it.
            let processed = first.counters.bars_processed as usize;
            prop_assert_eq!(timed, Some(processed.div_ceil(omega_v2::engine::BAR_SAMPLE_EVERY)));
        }
        // Another seed draws other slippage jitter, so the fills differ.
        let other = run_case(&c, &b, seed ^ 1, LoopProfiling::OFF);
        prop_assert_ne!(format!("{:?}", first.trades), format!("{:?}", other.trades));
    }
}
