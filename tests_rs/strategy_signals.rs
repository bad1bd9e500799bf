//! Strategy `signals`: a signals frame's flags, levels and sizes traded with the engine's rules;
//! rows located by time, frames with bad rows refused with their row (conventions in `common`).
//!
//! Prices are 1 + k/256 with the ask one step (1/256) above the bid, so every figure is exact:
//! one step on 1 lot of EURUSD is 0.00390625 * 100,000 = 390.625 in the USD account.

mod common;

use common::*;
use omega_v2::domain::Direction::{Long, Short};
use omega_v2::error::{ErrorCode, Result};
use omega_v2::execution::ExitReason;
use omega_v2::market::Bars;
use omega_v2::strategy::{Extras, SignalColumns};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

const STEP: f64 = 1.0 / 256.0;
const STEP_PNL: f64 = 390.625;

fn p(k: f64) -> f64 {
    1.0 + k * STEP
}

/// Flat bars at the given bid closes (in steps), ask one step above.
fn bars_of(closes: &[f64]) -> Bars {
    bars(&closes.iter().map(|k| flat(p(*k))).collect::<Vec<_>>(), STEP)
}

/// Runs strategy `signals` (parameters `params`, the rest default) on `b` with `columns`.
fn run_signals(b: &Bars, columns: &SignalColumns, params: Json) -> Result<Ran> {
    let mut p = json!({"size_lots": 1.0, "cooldown_bars": 0});
    merge(&mut p, params);
    let cfg = config(json!({"strategy_name": "signals", "strategy_parameters": p}));
    let specs = specs();
    let extras = Extras { signals: Some(columns), user: None };
    run_registered_with(&cfg, &specs, &setup_of(&cfg, &specs, b), extras)
}

fn flags(values: &[u8]) -> Option<&[u8]> {
    Some(values)
}

#[test]
fn entries_exits_and_a_reversal_trade_the_engine_sides() {
    let b = bars_of(&[24.0, 24.0, 26.0, 27.0, 25.0, 25.0]);
    // Rows before and after the bars (other dates of the same frame) are ignored.
    let times = [t0() - MIN, at(1), at(3), at(4), at(100)];
    let columns = SignalColumns {
        time_ns: &times,
        flags: [flags(&[1, 1, 0, 0, 1]), flags(&[0, 0, 1, 0, 0]), None, flags(&[0, 0, 0, 1, 0])],
        ..Default::default()
    };
    let out = run_signals(&b, &columns, json!({})).unwrap().out;
    assert_eq!(out.trades.len(), 2);
    // Long at bar 1's ask close (24 + 1), reversed at bar 3: sold at the bid close 27.
    assert_trade(&out.trades[0], &b, Long, (1, p(25.0)), (3, p(27.0)), 2.0 * STEP_PNL, ExitReason::Signal);
    // Short at bar 3's bid close 27, exit_short at bar 4: bought at the ask close 25 + 1.
    assert_trade(&out.trades[1], &b, Short, (3, p(27.0)), (4, p(26.0)), STEP_PNL, ExitReason::Signal);
    assert!(out.trades.iter().all(|t| t.size == 1.0 && t.stop_loss.is_none()));
}

#[test]
fn entering_wins_over_exiting_and_long_over_short_when_flat() {
    let b = bars_of(&[24.0; 4]);
    let times = [at(0), at(1), at(2), at(3)];
    // bar 0: both entries (flat: long); bar 1: enter_short + exit_long (reverse); bar 2:
    // enter_long + exit_short (reverse); bar 3: exit_long.
    let columns = SignalColumns {
        time_ns: &times,
        flags: [flags(&[1, 0, 1, 0]), flags(&[1, 1, 0, 0]), flags(&[0, 1, 0, 1]), flags(&[0, 0, 1, 0])],
        ..Default::default()
    };
    let out = run_signals(&b, &columns, json!({})).unwrap().out;
    let legs: Vec<_> = out.trades.iter().map(|t| (t.direction, index_of(&b, t.entry_time_ns), t.reason)).collect();
    assert_eq!(legs, [(Long, 0, ExitReason::Signal), (Short, 1, ExitReason::Signal), (Long, 2, ExitReason::Signal)]);
    assert_eq!(index_of(&b, out.trades[2].exit_time_ns), 3);
}

#[test]
fn size_is_the_rows_lots_else_risk_with_a_stop_else_the_parameter() {
    let b = bars_of(&[24.0; 6]);
    let times = [at(0), at(1), at(2), at(3), at(4)];
    let nan = f64::NAN;
    let columns = SignalColumns {
        time_ns: &times,
        flags: [flags(&[1, 0, 1, 0, 1]), None, flags(&[0, 1, 0, 1, 0]), None],
        // Bar 2: SL two steps under the ask entry 25: 100 / (0.0078125 * 100,000) = 0.128 -> 0.12.
        levels: [Some(&[nan, nan, p(23.0), nan, nan]), None, Some(&[2.0, nan, nan, nan, nan])],
        snapshot: vec![],
    };
    let out = run_signals(&b, &columns, json!({"size_lots": 0.5})).unwrap().out;
    let sizes: Vec<f64> = out.trades.iter().map(|t| t.size).collect();
    assert_eq!(sizes, [2.0, 0.12, 0.5]);
    assert_eq!(out.trades[1].initial_stop_loss, Some(p(23.0)));
    assert_eq!(out.trades[2].reason, ExitReason::EndOfData);
}

#[test]
fn a_rows_stop_loss_exits_like_any_stop_and_other_columns_are_recorded() {
    // Long at bar 0's ask close 25, SL 23, TP 30; bar 1's bid low 22 crosses the SL from an open
    // of 24 (no gap): filled at the SL, -2 steps on 0.12 lots (risk 100 over 2 steps) = -93.75.
    let rows = [flat(p(24.0)), [p(24.0), p(24.0), p(22.0), p(23.0)], flat(p(23.0))];
    let b = bars(&rows, STEP);
    let times = [at(0)];
    let columns = SignalColumns {
        time_ns: &times,
        flags: [flags(&[1]), None, None, None],
        levels: [Some(&[p(23.0)]), Some(&[p(30.0)]), None],
        snapshot: vec![("score".to_string(), &[0.75][..])],
    };
    let out = run_signals(&b, &columns, json!({})).unwrap().out;
    let t = only_trade(&out);
    assert_trade(t, &b, Long, (0, p(25.0)), (1, p(23.0)), -93.75, ExitReason::StopLoss);
    assert_eq!((t.size, t.take_profit), (0.12, Some(p(30.0))));
    assert_eq!(snapshot_names(t), ["score"]);
    assert_eq!(t.snapshot[0].1, 0.75);
}

#[test]
fn the_cooldown_parameter_gates_entries_after_an_exit() {
    // Exit at bar 1; with a 2-bar cooldown the entry at bar 2 is blocked, the one at bar 3 fills.
    let b = bars_of(&[24.0; 5]);
    let times = [at(0), at(1), at(2), at(3)];
    let columns = SignalColumns {
        time_ns: &times,
        flags: [flags(&[1, 0, 1, 1]), None, flags(&[0, 1, 0, 0]), None],
        ..Default::default()
    };
    let ran = run_signals(&b, &columns, json!({"cooldown_bars": 2})).unwrap();
    assert_eq!(ran.cooldown_bars, 2);
    assert_eq!(entry_bars(&ran.out, &b), [0, 3]);
    assert_eq!(ran.out.counters.blocked_cooldown, 1);
}

/// The error of a frame with these times and an `enter_long` column, and optionally a stop_loss column.
fn frame_error(times: &[i64], enter: &[u8], stop_loss: Option<&[f64]>) -> (ErrorCode, String, Option<String>) {
    let b = bars_of(&[24.0; 3]);
    let columns = SignalColumns {
        time_ns: times,
        flags: [Some(enter), None, None, None],
        levels: [stop_loss, None, None],
        snapshot: vec![],
    };
    let err = run_signals(&b, &columns, json!({})).err().expect("the frame is refused");
    (err.code, err.message, err.context.get("row").cloned())
}

#[test]
fn frames_with_bad_rows_are_refused_with_the_row() {
    let (code, msg, row) = frame_error(&[at(1), at(0)], &[1, 0], None);
    assert_eq!((code, row.as_deref()), (ErrorCode::DataSignals, Some("1")));
    assert!(msg.contains("row 1 (2025-01-06T00:00:00Z): is before the previous row"), "{msg}");
    let (_, msg, row) = frame_error(&[at(0), at(0)], &[1, 0], None);
    assert!(msg.contains("repeats the previous timestamp") && row.as_deref() == Some("1"), "{msg}");
    let (_, msg, row) = frame_error(&[at(0), at(1) + 30_000_000_000], &[1, 0], None);
    assert!(msg.contains("row 1 (2025-01-06T00:01:30Z): has no bar at that time"), "{msg}");
    assert_eq!(row.as_deref(), Some("1"));
    let (_, msg, row) = frame_error(&[at(0), at(1)], &[1, 0], Some(&[f64::NAN, -1.0]));
    assert!(msg.contains("`stop_loss` must be a positive number or NaN") && row.as_deref() == Some("1"), "{msg}");
    let (_, msg, _) = frame_error(&[at(0), at(1)], &[1, 0], Some(&[f64::INFINITY, f64::NAN]));
    assert!(msg.contains("row 0") && msg.contains("`stop_loss`"), "{msg}");
    let (code, msg, _) = frame_error(&[at(0), at(1), at(2)], &[1, 0], None);
    assert_eq!(code, ErrorCode::DataSignals);
    assert!(msg.contains("column `enter_long` has 2 rows, the time axis 3"), "{msg}");
}

#[test]
fn strategy_signals_needs_a_frame_and_a_positive_size() {
    let b = bars_of(&[24.0; 3]);
    let err = run_config(
        &b,
        json!({"strategy_name": "signals", "strategy_parameters": {"size_lots": 1.0, "cooldown_bars": 0}}),
    )
    .err()
    .expect("no frame");
    assert_eq!(err.code, ErrorCode::ConfigStrategy);
    assert!(err.message.contains("needs a signals frame: pass signals= to run"), "{}", err.message);
    let times = [at(0)];
    let columns = SignalColumns { time_ns: &times, flags: [flags(&[1]), None, None, None], ..Default::default() };
    let err = run_signals(&b, &columns, json!({"size_lots": 0.0})).err().expect("size 0");
    assert_eq!(err.code, ErrorCode::ConfigStrategyParameter);
}

#[test]
fn the_frame_digest_follows_its_documented_layout() {
    let times = [at(0), at(2)];
    let (enter, stop, score) = ([1u8, 0], [p(23.0), f64::NAN], [0.5, -1.25]);
    let columns = SignalColumns {
        time_ns: &times,
        flags: [Some(&enter), None, None, None],
        levels: [Some(&stop), None, None],
        snapshot: vec![("score".to_string(), &score[..])],
    };
    // Header, row count (u64 LE), times (i64 LE), then each present column as `name\n` + values.
    let mut h = Sha256::new();
    h.update(b"omega-v2 signals v1\n");
    h.update(2u64.to_le_bytes());
    times.iter().for_each(|t| h.update(t.to_le_bytes()));
    h.update(b"enter_long\n");
    h.update(enter);
    h.update(b"stop_loss\n");
    stop.iter().for_each(|v| h.update(v.to_le_bytes()));
    h.update(b"score\n");
    score.iter().for_each(|v| h.update(v.to_le_bytes()));
    let expected: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(columns.sha256(), expected);
    // Any change of a value changes it.
    let other = [1u8, 1];
    assert_ne!(SignalColumns { flags: [Some(&other), None, None, None], ..columns }.sha256(), expected);
}
