//! Exits: SL/TP on the exit side (SL wins a tie), gaps through a level, the pip buffer, timeout,
//! break-even and trailing stops, and the labels written for them (conventions in `common`).

mod common;

use common::*;
use omega_v2::domain::Action;
use omega_v2::domain::Direction::{self, Long, Short};
use omega_v2::execution::{ExitReason, StopLossKind, Trade};
use serde_json::{json, Value as Json};

/// Enters at bar 0's close with the given levels; bar 1 is `next`; returns the trade. The setup
/// has the conventions plus `overrides`.
fn exit_case(d: Direction, sl: Option<f64>, tp: Option<f64>, next: [f64; 4], overrides: Json) -> Trade {
    let b = bars(&[flat(1.1000), next], SPREAD);
    let out = run(script(vec![(0, Action::Enter(market(&b, 0, d, sl, tp)))]), &setup_with(&b, overrides));
    only_trade(&out).clone()
}

/// Pip buffer factor 0.5: 0.5 pip = 0.00005 with EURUSD's pip 0.0001.
fn half_pip_buffer() -> Json {
    json!({"costs": {"pip_buffer_factor": 0.5}})
}

#[test]
fn stop_loss_wins_when_both_levels_are_hit_in_one_bar() {
    // Long (ask 1.1001) SL 1.0990 TP 1.1010; bar 1 bid 1.0985 .. 1.1015 hits both -> SL 1.0990.
    let t = exit_case(Long, Some(1.0990), Some(1.1010), [1.1000, 1.1015, 1.0985, 1.1000], json!({}));
    assert_eq!((t.reason, t.exit_price, t.stop_loss_kind), (ExitReason::StopLoss, 1.0990, StopLossKind::Initial));
    approx(t.result, -110.0); // 1.0990 - 1.1001
                              // Short (bid 1.1000) SL 1.1010 TP 1.0990; ask 1.0986 .. 1.1016 hits both -> SL 1.1010.
    let t = exit_case(Short, Some(1.1010), Some(1.0990), [1.1000, 1.1015, 1.0985, 1.1000], json!({}));
    assert_eq!((t.reason, t.exit_price), (ExitReason::StopLoss, 1.1010));
    // r = result / initial risk = -100 / 100 (risk: |1.1000 - 1.1010| * 100,000)
    approx(t.r_multiple.unwrap(), -1.0);
}

#[test]
fn gaps_through_a_level_exit_at_the_open() {
    const DOWN: [f64; 4] = [1.0980, 1.0985, 1.0970, 1.0975]; // ask open 1.0981
    const UP: [f64; 4] = [1.1020, 1.1025, 1.1015, 1.1020]; // ask open 1.1021
    let cases = [
        // long SL 1.0990, bid opens at 1.0980 below it: worse fill at the open
        (Long, Some(1.0990), Some(1.1100), DOWN, ExitReason::StopLoss, 1.0980),
        // long TP 1.1010, bid opens at 1.1020 above it: better fill at the open
        (Long, Some(1.0900), Some(1.1010), UP, ExitReason::TakeProfit, 1.1020),
        // short SL 1.1010, ask opens at 1.1021
        (Short, Some(1.1010), Some(1.0900), UP, ExitReason::StopLoss, 1.1020 + SPREAD),
        // short TP 1.0990, ask opens at 1.0981
        (Short, Some(1.1100), Some(1.0990), DOWN, ExitReason::TakeProfit, 1.0980 + SPREAD),
    ];
    for (d, sl, tp, next, reason, exit) in cases {
        let t = exit_case(d, sl, tp, next, json!({}));
        assert_eq!((t.reason, t.exit_price), (reason, exit), "{d:?} {reason:?}");
    }
}

#[test]
fn pip_buffer_widens_the_triggers() {
    // Bid low 1.09904 is 0.4 pip above the long SL 1.0990: no hit with buffer 0, hit with
    // 0.5 pip (1.09904 <= 1.09905), filled at the level.
    let sl_bar = [1.1000, 1.1005, 1.09904, 1.1000];
    assert_eq!(exit_case(Long, Some(1.0990), None, sl_bar, json!({})).reason, ExitReason::EndOfData);
    let t = exit_case(Long, Some(1.0990), None, sl_bar, half_pip_buffer());
    assert_eq!((t.reason, t.exit_price), (ExitReason::StopLoss, 1.0990));
    // Long TP 1.1010, bid high 1.10096: hit only with the buffer (1.10096 >= 1.10095).
    let tp_bar = [1.1000, 1.10096, 1.0995, 1.1000];
    assert_eq!(exit_case(Long, None, Some(1.1010), tp_bar, json!({})).reason, ExitReason::EndOfData);
    assert_eq!(exit_case(Long, None, Some(1.1010), tp_bar, half_pip_buffer()).exit_price, 1.1010);
    // Short TP 1.0990, ask low 1.09894 + 0.0001 = 1.09904: hit only with the buffer.
    let short_bar = [1.1000, 1.1005, 1.09894, 1.1000];
    assert_eq!(exit_case(Short, None, Some(1.0990), short_bar, json!({})).reason, ExitReason::EndOfData);
    let t = exit_case(Short, None, Some(1.0990), short_bar, half_pip_buffer());
    assert_eq!((t.reason, t.exit_price), (ExitReason::TakeProfit, 1.0990));
    // Short SL 1.1010, ask high 1.10096 (bid 1.10086): hit only with the buffer.
    let short_sl = [1.1000, 1.10086, 1.0995, 1.1000];
    assert_eq!(exit_case(Short, Some(1.1010), None, short_sl, json!({})).reason, ExitReason::EndOfData);
    assert_eq!(exit_case(Short, Some(1.1010), None, short_sl, half_pip_buffer()).reason, ExitReason::StopLoss);
}

#[test]
fn the_pip_buffer_defaults_to_the_execution_costs_factor() {
    // `costs.pip_buffer_factor: null` takes the shipped execution-costs factor 0.5: 0.5 pip.
    let b = bars(&[flat(1.1000)], 0.0);
    let setup = setup_with(&b, json!({"costs": {"pip_buffer_factor": null}}));
    approx(setup.pip_buffer, 0.00005);
    approx(setup_with(&b, json!({"costs": {"pip_buffer_factor": 2.0}})).pip_buffer, 0.0002);
}

#[test]
fn timeout_exits_at_the_close_of_the_exit_side() {
    // max 3 minutes; entry in bar 1 (00:01). Bar 4 opens at 00:04: 3 minutes held -> timeout at
    // bar 4's close: bid 1.1006 for a long, ask 1.1007 for a short. Bars 2 and 3 keep it.
    let b = bars(&[1.1000, 1.1000, 1.1002, 1.1004, 1.1006, 1.1008].map(flat), SPREAD);
    let st = setup_with(&b, json!({"trade_management": {"max_holding_minutes": 3}}));
    for (d, exit) in [(Long, 1.1006), (Short, 1.1006 + SPREAD)] {
        let out = run(script(vec![(1, Action::Enter(market(&b, 1, d, None, None)))]), &st);
        let t = only_trade(&out);
        assert_eq!((t.exit_time_ns, t.exit_price, t.reason), (at(4), exit, ExitReason::Timeout), "{d:?}");
    }
}

#[test]
fn break_even_moves_the_stop_from_the_next_bar() {
    // bid = ask. Long at 1.1000, SL 1.0980: 1R = 0.0020. Break-even at 1R, offset 1 pip.
    // Bar 1 closes at 1.1021 (+21 pips >= 1R): stop -> 1.1001 after the exit check. Bar 1's low
    // 1.0999 is below the new stop, but the move counts only from bar 2. Bar 2's low 1.1000 hits
    // 1.1001 (it opened above): exit at 1.1001, result +10, r = 10 / 200 = 0.05.
    let b = bars(&[flat(1.1000), [1.1000, 1.1025, 1.0999, 1.1021], [1.1021, 1.1030, 1.1000, 1.1010]], 0.0);
    let be = json!({"enabled": true, "trigger_r": 1.0, "offset_pips": 1.0});
    let st = setup_with(&b, json!({"trade_management": {"break_even": be}}));
    let out = run(script(vec![(0, Action::Enter(market(&b, 0, Long, Some(1.0980), None)))]), &st);
    let t = only_trade(&out);
    assert_eq!((t.exit_time_ns, t.reason, t.stop_loss_kind), (at(2), ExitReason::StopLoss, StopLossKind::BreakEven));
    approx(t.exit_price, 1.1001);
    approx(t.stop_loss.unwrap(), 1.1001);
    assert_eq!(t.initial_stop_loss, Some(1.0980));
    approx(t.result, 10.0);
    approx(t.r_multiple.unwrap(), 0.05);
    assert_eq!(out.counters.stop_moves, 1);
}

#[test]
fn trailing_stop_follows_the_close_from_the_next_bar() {
    // bid = ask. Long at 1.1000, SL 1.0980 (1R = 20 pips); trailing from 1R at 10 pips.
    // Bar 1 close 1.1025 (+25 pips): stop -> 1.1015; bar 1's low 1.1010 does not exit (same bar).
    // Bar 2 low 1.1020 > 1.1015 holds; close 1.1035 -> stop 1.1025.
    // Bar 3 low 1.1020 <= 1.1025: exit at 1.1025, +25 pips = +250.
    let b = bars(
        &[
            flat(1.1000),
            [1.1000, 1.1026, 1.1010, 1.1025],
            [1.1025, 1.1040, 1.1020, 1.1035],
            [1.1035, 1.1036, 1.1020, 1.1030],
        ],
        0.0,
    );
    let trailing = json!({"enabled": true, "activation_r": 1.0, "distance_pips": 10.0});
    let st = setup_with(&b, json!({"trade_management": {"trailing": trailing}}));
    let out = run(script(vec![(0, Action::Enter(market(&b, 0, Long, Some(1.0980), None)))]), &st);
    let t = only_trade(&out);
    assert_eq!((t.exit_time_ns, t.reason, t.stop_loss_kind), (at(3), ExitReason::StopLoss, StopLossKind::Trailing));
    approx(t.exit_price, 1.1025);
    approx(t.result, 250.0);
    assert_eq!(out.counters.stop_moves, 2);
}

#[test]
fn stop_loss_kind_and_exit_reason_labels() {
    let label = |k| serde_json::to_value(k).unwrap();
    assert_eq!(label(StopLossKind::None), "none");
    assert_eq!(label(StopLossKind::Initial), "initial");
    assert_eq!(label(StopLossKind::BreakEven), "break_even");
    assert_eq!(label(StopLossKind::Trailing), "trailing");
    let reasons =
        [ExitReason::StopLoss, ExitReason::TakeProfit, ExitReason::Timeout, ExitReason::EndOfData, ExitReason::Signal];
    let names: Vec<Json> = reasons.iter().map(|r| serde_json::to_value(r).unwrap()).collect();
    assert_eq!(names, ["stop_loss", "take_profit", "timeout", "end_of_data", "signal"]);
}
