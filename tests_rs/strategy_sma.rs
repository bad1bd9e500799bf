//! `sma_crossover` against hand-derived trades, equity and balance (conventions in `common`).

mod common;

use common::*;
use omega_v2::domain::Direction::{Long, Short};
use omega_v2::engine::{EngineSetup, LoopProfiling};
use omega_v2::error::{ErrorCode, ErrorKind};
use omega_v2::execution::{ExitReason, StopLossKind};
use omega_v2::market::Bars;
use omega_v2::strategy;
use serde_json::{json, Value as Json};

/// k of the mid closes 1 + k/256 (bid = ask, flat bars). With fast = 2 and slow = 4 (both exact
/// in binary), `fast - slow = (k[t] + k[t-1] - k[t-2] - k[t-3]) / 4` (in 1/256 units):
///
/// | t | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 |
/// |---|---|---|---|---|---|---|---|----|----|
/// | fast | 5 | 6.5 | 5.5 | 6 | 5 | 6.5 | 5 | 1 | 1 |
/// | slow | 5.5 | 5.25 | 5.25 | 6.25 | 5.25 | 6.25 | 5 | 3.75 | 3 |
/// | sign | - | + | + | - | - | + | 0 | - | - |
///
/// t=4 is the first possible signal (slow exists from t=3, both bars needed): cross up.
/// t=6 cross down, t=8 cross up. t=9 is a tie, so t=10 (fast < slow) is NOT a cross down.
const SMA_K: [f64; 12] = [6., 6., 2., 8., 5., 6., 6., 4., 9., 1., 1., 1.];

fn sma_bars(n: usize) -> Bars {
    bars(&SMA_K[..n].iter().map(|k| flat(k_price(*k))).collect::<Vec<_>>(), 0.0)
}

fn k_price(k: f64) -> f64 {
    1.0 + k / 256.0
}

/// fast 2, slow 4 plus `params`, through the registry.
fn run_sma(bars: &Bars, params: Json) -> Ran {
    let mut p = json!({"fast": 2, "slow": 4});
    merge(&mut p, params);
    run_config(bars, sma_strategy(p)).unwrap()
}

#[test]
fn hand_case_with_reversals_and_strict_crosses() {
    let b = sma_bars(12);
    let ran = run_sma(&b, json!({}));
    assert_eq!(ran.first_signal_index, 4);
    let out = ran.out;
    // 1 lot: one k step = 100,000 / 256 = 390.625.
    // T1 long  t4 (k5) -> t6 (k6): +1 step = +390.625, closed by the cross down (reverse)
    // T2 short t6 (k6) -> t8 (k9): -3 steps = -1171.875, closed by the cross up (reverse)
    // T3 long  t8 (k9) -> t11 (k1): -8 steps = -3125, end of data (no cross at t10: tie at t9)
    let t = &out.trades;
    assert_eq!(t.len(), 3);
    assert_trade(&t[0], &b, Long, (4, k_price(5.)), (6, k_price(6.)), 390.625, ExitReason::Signal);
    assert_trade(&t[1], &b, Short, (6, k_price(6.)), (8, k_price(9.)), -1171.875, ExitReason::Signal);
    assert_trade(&t[2], &b, Long, (8, k_price(9.)), (11, k_price(1.)), -3125.0, ExitReason::EndOfData);
    for tr in t {
        assert_eq!((tr.size, tr.fees, tr.stop_loss, tr.take_profit, tr.r_multiple), (1.0, 0.0, None, None, None));
        assert_eq!((tr.stop_loss_kind, tr.scenario_id, tr.in_entry_candle), (StopLossKind::None, 0, false));
        assert_eq!(snapshot_names(tr), ["sma_fast", "sma_slow"]);
    }
    // snapshot at t4: fast 6.5, slow 5.25 (1/256 units)
    let values: Vec<f64> = t[0].snapshot.iter().map(|(_, v)| *v).collect();
    assert_eq!(values, [k_price(6.5), k_price(5.25)]);
    // Equity marked at the close: t5 long +1 step; t7 short +2 steps (k6 -> k4) on 10,390.625;
    // t9.. long from k9 at k1: -8 steps on 9,218.75.
    assert_eq!(
        out.equity,
        [
            10_000.0, 10_000.0, 10_000.0, 10_000.0, 10_000.0, 10_390.625, 10_390.625, 11_171.875, 9_218.75, 6_093.75,
            6_093.75, 6_093.75
        ]
    );
    assert_eq!(
        out.balance,
        [
            10_000.0, 10_000.0, 10_000.0, 10_000.0, 10_000.0, 10_000.0, 10_390.625, 10_390.625, 9_218.75, 9_218.75,
            9_218.75, 6_093.75
        ]
    );
    let c = &out.counters;
    assert_eq!((c.bars_processed, c.signals, c.orders_filled, c.trades_emitted), (12, 3, 6, 3));
}

#[test]
fn without_shorts_a_cross_down_exits_and_stays_flat() {
    let b = sma_bars(12);
    let out = run_sma(&b, json!({"allow_short": false})).out;
    // t6 cross down closes the long (reason signal) and stays flat; t8 cross up opens a long.
    let t = &out.trades;
    assert_eq!(t.len(), 2);
    assert_trade(&t[0], &b, Long, (4, k_price(5.)), (6, k_price(6.)), 390.625, ExitReason::Signal);
    assert_trade(&t[1], &b, Long, (8, k_price(9.)), (11, k_price(1.)), -3125.0, ExitReason::EndOfData);
    // flat from t6 to t8 at 10,390.625; then -8 steps = 7,265.625
    assert_eq!(&out.equity[5..], [10_390.625, 10_390.625, 10_390.625, 10_390.625, 7_265.625, 7_265.625, 7_265.625]);
    assert_eq!(*out.balance.last().unwrap(), 7_265.625);
}

#[test]
fn a_signal_on_the_last_bar_closes_in_its_entry_candle() {
    // Only bars 0..=8: the cross up at t8 opens a long that end of data closes in the same bar.
    let b = sma_bars(9);
    let out = run_sma(&b, json!({})).out;
    let last = out.trades.last().unwrap();
    assert_trade(last, &b, Long, (8, k_price(9.)), (8, k_price(9.)), 0.0, ExitReason::EndOfData);
    assert!(last.in_entry_candle);
    assert_eq!(out.equity.last(), out.balance.last());
}

#[test]
fn stop_and_target_size_by_risk() {
    // sl_pips 20, tp_pips 40: risk sizing 100 / (0.0020 * 100,000) = 0.5 lots; one k step
    // (0.0039) on 0.5 lots = 195.3125. Flat bars, so a level crossed between closes gaps.
    // T1 long t4 (k5): t5 (k6, +39 pips) misses the TP; t6 cross down reverses at k6: +195.3125.
    // T2 short t6 (k6), TP k6 - 0.0040: t7 opens at k4 (-78 pips) -> TP at the open k4: +390.625.
    // T3 long t8 (k9), SL k9 - 0.0020: t9 opens at k1 -> SL at the open k1: -8 steps = -1562.5,
    //    r = -1562.5 / (0.0020 * 0.5 * 100,000) = -15.625. No cross afterwards: flat at the end.
    let b = sma_bars(12);
    let out = run_sma(&b, json!({"sl_pips": 20.0, "tp_pips": 40.0})).out;
    let t = &out.trades;
    assert_eq!(t.len(), 3);
    assert_trade(&t[0], &b, Long, (4, k_price(5.)), (6, k_price(6.)), 195.3125, ExitReason::Signal);
    assert_trade(&t[1], &b, Short, (6, k_price(6.)), (7, k_price(4.)), 390.625, ExitReason::TakeProfit);
    assert_trade(&t[2], &b, Long, (8, k_price(9.)), (9, k_price(1.)), -1562.5, ExitReason::StopLoss);
    assert!(t.iter().all(|tr| tr.size == 0.5 && tr.stop_loss_kind == StopLossKind::Initial));
    approx(t[1].take_profit.unwrap(), k_price(6.) - 0.0040);
    approx(t[2].stop_loss.unwrap(), k_price(9.) - 0.0020);
    approx(t[2].r_multiple.unwrap(), -15.625);
    approx(*out.balance.last().unwrap(), INITIAL + 195.3125 + 390.625 - 1562.5);
}

#[test]
fn trading_starts_at_the_setup_start_index() {
    // Warmup bars (before start_index) feed the SMAs but trade nothing: starting at t5, the first
    // cross is the cross down at t6 (a short); the t4 cross up lies in the warmup.
    let b = sma_bars(12);
    let (cfg, specs) = (config(sma_strategy(json!({"fast": 2, "slow": 4}))), specs());
    let setup = EngineSetup::new(&cfg, &specs, &b, 5, Vec::new(), LoopProfiling::OFF).unwrap();
    let out = run_registered(&cfg, &specs, &setup).unwrap().out;
    assert_eq!(out.equity.len(), 7);
    assert_eq!((out.trades[0].direction, index_of(&b, out.trades[0].entry_time_ns)), (Short, 6));
}

#[test]
fn invalid_parameters_are_config_errors_naming_the_field() {
    let b = sma_bars(12);
    let cases = [
        (json!({"fast": 4, "slow": 4}), "strategy_parameters.fast"),
        (json!({"fast": 0}), "strategy_parameters.fast"),
        (json!({"sl_pips": -1.0}), "strategy_parameters.sl_pips"),
        (json!({"size_lots": 0.0}), "strategy_parameters.size_lots"),
        (json!({"fast": "2"}), "strategy_parameters.fast"),
        (json!({"window_length": 3}), "strategy_parameters.window_length"),
    ];
    for (params, field) in cases {
        let overrides = sma_strategy(params.clone());
        let err = run_config(&b, overrides.clone()).err().unwrap_or_else(|| panic!("{params} accepted"));
        assert_eq!((err.kind(), err.code), (ErrorKind::Config, ErrorCode::ConfigStrategyParameter), "{params}");
        assert_eq!(err.context.get("field").map(String::as_str), Some(field), "{params}");
        // The preflight check (no data) rejects the same parameters the same way.
        let preflight = strategy::check_parameters("sma_crossover", &overrides["strategy_parameters"]).unwrap_err();
        assert_eq!(preflight, err, "{params}");
    }
    // A missing parameter is an error too: the engine has no defaults.
    let mut overrides = sma_strategy(json!({}));
    overrides["strategy_parameters"].as_object_mut().unwrap().remove("allow_short");
    let err = strategy::check_parameters("sma_crossover", &overrides["strategy_parameters"]).unwrap_err();
    assert_eq!(err.code, ErrorCode::ConfigStrategyParameter);
    assert!(err.to_string().contains("missing field `allow_short`"), "{err}");
}
