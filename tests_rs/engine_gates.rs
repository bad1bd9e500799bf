//! Entry gates: trading sessions, news blackouts, the strategy's cooldown after an exit and one
//! position at a time (conventions in `common`).

mod common;

use common::*;
use omega_v2::domain::Action;
use omega_v2::domain::Direction::{self, Long, Short};
use omega_v2::engine::{EngineOutput, EngineSetup, EntryGates, LoopProfiling};
use omega_v2::execution::ExitReason;
use omega_v2::market::Bars;
use omega_v2::timefmt::NANOS_PER_DAY;
use serde_json::{json, Value as Json};

/// Wants a long position on every bar: enters when flat, reverses (exit + new entry) when long.
/// The bars where a trade starts are exactly the bars whose entry the gates allowed.
fn always_in() -> Scripted<impl FnMut(usize, &Bars, Option<Direction>) -> Action> {
    Scripted::new(|t: usize, bars: &Bars, position: Option<Direction>| {
        let s = market(bars, t, Long, None, None);
        if position.is_some() {
            Action::Reverse(s)
        } else {
            Action::Enter(s)
        }
    })
}

/// Flat bars at the given times, `always_in` with `cooldown` bars, the conventions plus
/// `overrides` and the given news blackouts.
fn gated_run(times: &[i64], overrides: Json, news: Vec<(i64, i64)>, cooldown: usize) -> (EngineOutput, Bars) {
    let b = bars_at(times, &vec![flat(1.1000); times.len()], 0.0);
    let st = EngineSetup::new(&config(overrides), &specs(), &b, 0, news, LoopProfiling::OFF).unwrap();
    (run(always_in().with_cooldown(cooldown), &st), b)
}

fn minute_of(day: i64, hh: i64, mm: i64) -> i64 {
    t0() + day * NANOS_PER_DAY + (hh * 60 + mm) * MIN
}

#[test]
fn sessions_gate_entries_including_across_midnight() {
    // 08:00-09:00: start inclusive, end exclusive.
    let times = [minute_of(0, 7, 59), minute_of(0, 8, 0), minute_of(0, 8, 59), minute_of(0, 9, 0)];
    let (out, b) = gated_run(&times, json!({"sessions": [{"start": "08:00", "end": "09:00"}]}), Vec::new(), 0);
    assert_eq!(entry_bars(&out, &b), [1, 2]);
    assert_eq!(out.counters.blocked_session, 2);
    // The 09:00 reversal still closes the position (exits are never gated).
    assert_eq!(out.trades.last().unwrap().exit_time_ns, times[3]);

    // 22:00-02:00 crosses midnight.
    let times = [
        minute_of(0, 21, 59),
        minute_of(0, 22, 0),
        minute_of(0, 23, 59),
        minute_of(1, 0, 0),
        minute_of(1, 1, 59),
        minute_of(1, 2, 0),
    ];
    let (out, b) = gated_run(&times, json!({"sessions": [{"start": "22:00", "end": "02:00"}]}), Vec::new(), 0);
    assert_eq!(entry_bars(&out, &b), [1, 2, 3, 4]);
    assert_eq!(out.counters.blocked_session, 2);
}

#[test]
fn several_sessions_open_the_union_of_their_windows() {
    // 00:01-00:03 and 00:05-00:06 on minute bars 0..8: entries at 1, 2, 5.
    let times: Vec<i64> = (0..8).map(at).collect();
    let sessions = json!([{"start": "00:01", "end": "00:03"}, {"start": "00:05", "end": "00:06"}]);
    let (out, b) = gated_run(&times, json!({ "sessions": sessions }), Vec::new(), 0);
    assert_eq!(entry_bars(&out, &b), [1, 2, 5]);
    assert_eq!(out.counters.blocked_session, 5);
}

#[test]
fn news_blackouts_gate_entries_inclusively() {
    // Blackouts [1, 1] and [5, 7] (minutes, both ends inclusive): bars 1, 5, 6, 7 blocked.
    let times: Vec<i64> = (0..10).map(at).collect();
    let (out, b) = gated_run(&times, json!({}), vec![(at(1), at(1)), (at(5), at(7))], 0);
    assert_eq!(entry_bars(&out, &b), [0, 2, 3, 4, 8, 9]);
    assert_eq!(out.counters.blocked_news, 4);
}

#[test]
fn the_gates_built_from_a_config_are_its_sessions_and_the_given_blackouts() {
    let b = bars(&[flat(1.1000)], 0.0);
    let cfg = config(json!({"sessions": [{"start": "22:00", "end": "02:00"}, {"start": "08:30", "end": "09:00"}]}));
    let st = EngineSetup::new(&cfg, &specs(), &b, 0, vec![(at(1), at(2))], LoopProfiling::OFF).unwrap();
    let EntryGates { sessions, news_blackouts } = &st.gates;
    assert_eq!(
        (sessions.as_slice(), news_blackouts.as_slice()),
        ([(1320, 120), (510, 540)].as_slice(), [(at(1), at(2))].as_slice())
    );
}

#[test]
fn cooldown_bars_after_an_exit() {
    // always_in reverses every bar: exit at bar e, entry allowed from bar e + cooldown.
    let times: Vec<i64> = (0..6).map(at).collect();
    for (cooldown, entries, blocked) in [(0, vec![0, 1, 2, 3, 4, 5], 0), (1, vec![0, 2, 4], 3), (2, vec![0, 3], 4)] {
        let (out, b) = gated_run(&times, json!({}), Vec::new(), cooldown);
        assert_eq!(entry_bars(&out, &b), entries, "cooldown {cooldown}");
        assert_eq!(out.counters.blocked_cooldown, blocked, "cooldown {cooldown}");
    }
}

#[test]
fn cooldown_zero_allows_an_entry_in_the_bar_of_a_stop_loss_exit() {
    // Long at bar 0 (1.1000) with SL 1.0990; bar 1's low 1.0985 stops it out (step 2) and the
    // strategy enters again at bar 1's close (step 4) unless the cooldown blocks it.
    let b = bars(&[flat(1.1000), [1.1000, 1.1000, 1.0985, 1.0995], flat(1.0995)], 0.0);
    let flat_then_enter = || {
        Scripted::new(|t, b: &Bars, p: Option<Direction>| {
            if p.is_none() {
                Action::Enter(market(b, t, Long, Some(b.bid.close[t] - 0.0010), None))
            } else {
                Action::Hold
            }
        })
    };
    let out = run(flat_then_enter(), &setup(&b));
    assert_eq!(entry_bars(&out, &b), [0, 1]);
    assert_eq!(out.trades[0].reason, ExitReason::StopLoss);
    let out = run(flat_then_enter().with_cooldown(1), &setup(&b));
    assert_eq!(entry_bars(&out, &b), [0, 2]);
    assert_eq!(out.counters.blocked_cooldown, 1);
}

#[test]
fn one_position_at_a_time() {
    // Entries at bars 1 and 2 (either direction) are ignored while the bar 0 long is open.
    let b = bars(&[flat(1.1000); 4], SPREAD);
    let out = run(
        script(vec![
            (0, Action::Enter(market(&b, 0, Long, None, None))),
            (1, Action::Enter(market(&b, 1, Short, None, None))),
            (2, Action::Enter(market(&b, 2, Long, None, None))),
        ]),
        &setup(&b),
    );
    assert_eq!((only_trade(&out).direction, only_trade(&out).reason), (Long, ExitReason::EndOfData));
    let c = &out.counters;
    assert_eq!((c.signals, c.orders_filled, c.blocked_session + c.blocked_news + c.blocked_cooldown), (3, 2, 0));
}
