//! Stop-out: equity at a bar close at or below `account.stop_out_level` closes the position at
//! that close (reason `stop_out`), cancels a pending order and ends trading; the equity curve
//! stays flat at the final balance for the bars left (conventions in `common`).
//!
//! Prices are 1 + k/256, so every figure below is exact: one step of 1/256 on 1 lot of
//! EURUSD is 0.00390625 * 100,000 = 390.625 in the USD account.

mod common;

use common::*;
use omega_v2::domain::Action;
use omega_v2::domain::Direction::Long;
use omega_v2::domain::OrderKind;
use omega_v2::engine::EngineOutput;
use omega_v2::execution::ExitReason;
use serde_json::json;

const STEP: f64 = 1.0 / 256.0;
const STEP_PNL: f64 = 390.625;

fn p(k: f64) -> f64 {
    1.0 + k * STEP
}

/// A 1-lot long entered at bar 0's close of 1 + 24/256, then closes falling one step per bar
/// (bars 1..=3), a second entry scripted at bar 4, five bars in all.
fn falling(level: f64) -> (omega_v2::market::Bars, EngineOutput) {
    let b = bars(&[flat(p(24.0)), flat(p(23.0)), flat(p(22.0)), flat(p(21.0)), flat(p(21.0))], 0.0);
    let st = setup_with(&b, json!({"account": {"stop_out_level": level}}));
    let enter = |t| Action::Enter(market(&b, t, Long, None, None));
    let out = run(script(vec![(0, enter(0)), (4, enter(4))]), &st);
    (b, out)
}

#[test]
fn equity_at_the_level_stops_out_at_that_close() {
    // Bar 2 close: 10,000 - 2 * 390.625 = 9,218.75 = the level (at or below stops out).
    let (b, out) = falling(INITIAL - 2.0 * STEP_PNL);
    let t = only_trade(&out);
    assert_trade(t, &b, Long, (0, p(24.0)), (2, p(22.0)), -2.0 * STEP_PNL, ExitReason::StopOut);
    let s = out.stop_out.expect("stopped out");
    assert_eq!((s.bar, s.time_ns, s.equity, s.level), (2, at(2), 9_218.75, 9_218.75));
    assert_eq!(out.equity, [10_000.0, 9_609.375, 9_218.75, 9_218.75, 9_218.75]);
    assert_eq!(out.balance, [10_000.0, 10_000.0, 9_218.75, 9_218.75, 9_218.75]);
    // Bars 3 and 4 are never traded: the entry signalled at bar 4 is not even seen.
    assert_eq!((out.counters.bars_processed, out.counters.signals, out.counters.orders_filled), (3, 1, 2));
}

#[test]
fn equity_just_above_the_level_keeps_trading() {
    // The lowest close (bar 3) marks 10,000 - 3 * 390.625 = 8,828.125, one cent above the level.
    let (b, out) = falling(8_828.115);
    assert!(out.stop_out.is_none());
    // The first long runs to the end of data (bar 4); the bar-4 entry meets an open position.
    assert_trade(only_trade(&out), &b, Long, (0, p(24.0)), (4, p(21.0)), -3.0 * STEP_PNL, ExitReason::EndOfData);
    assert_eq!(out.counters.bars_processed, 5);
}

#[test]
fn the_default_level_zero_stops_a_bankrupt_account() {
    // 100 lots: one step is 39,062.5, so bar 1's close marks 10,000 - 39,062.5 < 0.
    let b = bars(&[flat(p(24.0)), flat(p(23.0)), flat(p(30.0))], 0.0);
    let st = setup(&b);
    let big =
        omega_v2::domain::Signal { sizing: omega_v2::domain::Sizing::Lots(100.0), ..market(&b, 0, Long, None, None) };
    let out = run(script(vec![(0, Action::Enter(big))]), &st);
    let t = only_trade(&out);
    assert_trade(t, &b, Long, (0, p(24.0)), (1, p(23.0)), -100.0 * STEP_PNL, ExitReason::StopOut);
    assert_eq!(out.stop_out.map(|s| (s.bar, s.equity, s.level)), Some((1, -29_062.5, 0.0)));
    // The later recovery to 1 + 30/256 is never booked.
    assert_eq!(out.equity, [10_000.0, -29_062.5, -29_062.5]);
}

#[test]
fn a_flat_account_below_the_level_cancels_its_pending_order() {
    // A long closed at bar 1 by a signal for -390.625 leaves 9,609.375 <= level 9,700; the
    // limit order the strategy places in the same bar is cancelled by the stop-out.
    let b = bars(&[flat(p(24.0)), flat(p(23.0)), flat(p(20.0)), flat(p(20.0))], 0.0);
    let st = setup_with(&b, json!({"account": {"stop_out_level": 9_700.0}}));
    let limit = signal(Long, OrderKind::Limit, p(20.0), None, None);
    let out = run(script(vec![(0, Action::Enter(market(&b, 0, Long, None, None))), (1, Action::Reverse(limit))]), &st);
    assert_trade(only_trade(&out), &b, Long, (0, p(24.0)), (1, p(23.0)), -STEP_PNL, ExitReason::Signal);
    assert_eq!(out.stop_out.map(|s| (s.bar, s.equity)), Some((1, 9_609.375)));
    // The limit at 1 + 20/256 would have filled at bar 2; it was cancelled instead.
    assert_eq!(out.counters.orders_cancelled, 1);
    assert_eq!(out.equity, [10_000.0, 9_609.375, 9_609.375, 9_609.375]);
}
