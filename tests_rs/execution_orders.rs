//! Entries: market orders at the close, pending limit/stop orders from the next bar (gap-aware
//! fills), exits in a trigger bar, replacement and cancellation of pending orders (conventions
//! in `common`).

mod common;

use common::*;
use omega_v2::domain::Direction::{self, Long, Short};
use omega_v2::domain::{Action, OrderKind};
use omega_v2::execution::ExitReason;
use serde_json::json;

use OrderKind::{Limit, Market, Stop};

/// Bar 1 (the entry bar) spans every level used below, bar 2 hits exactly one of them.
fn market_bars() -> omega_v2::market::Bars {
    bars(
        &[
            [1.1000, 1.1010, 1.0990, 1.1000],
            [1.1000, 1.1030, 1.0950, 1.1000], // ask 1.1001 .. 1.1031, low 1.0951
            [1.1000, 1.1025, 1.0975, 1.0990], // ask high 1.1026, ask low 1.0976
        ],
        SPREAD,
    )
}

#[test]
fn market_orders_fill_at_the_close_with_adverse_slippage_and_no_exit_in_the_entry_bar() {
    // Slippage 0.2 pips = 0.00002, adverse on entry and exit. Entries at bar 1's close:
    // long buys the ask 1.1001 -> 1.10012; short sells the bid 1.1000 -> 1.09998.
    // Bar 1 reaches every SL/TP below, yet nothing exits in it; bar 2 exits:
    //   long SL 1.0980 (bid low 1.0975): sells at 1.0980 - 0.00002 = 1.09798 -> -0.00214 = -214
    //   short SL 1.1020 (ask high 1.1026): buys at 1.10202 -> 1.09998 - 1.10202 = -204
    //   long TP 1.1020 (bid high 1.1025): sells at 1.10198 -> +186
    //   short TP 1.0980 (ask low 1.0976): buys at 1.09802 -> +196
    let b = market_bars();
    let cases = [
        (Long, Some(1.0980), Some(1.1100), ExitReason::StopLoss, 1.09798, -214.0),
        (Short, Some(1.1020), Some(1.0900), ExitReason::StopLoss, 1.10202, -204.0),
        (Long, Some(1.0900), Some(1.1020), ExitReason::TakeProfit, 1.10198, 186.0),
        (Short, Some(1.1100), Some(1.0980), ExitReason::TakeProfit, 1.09802, 196.0),
    ];
    let cfg = config(json!({"costs": {"enabled": true}}));
    for (d, sl, tp, reason, exit, result) in cases {
        let st = setup_of(&cfg, &specs_with_costs(0.0, 0.2, 0.0), &b);
        let out = run(script(vec![(1, Action::Enter(market(&b, 1, d, sl, tp)))]), &st);
        let t = only_trade(&out);
        approx(t.entry_price, if d == Long { 1.10012 } else { 1.09998 });
        assert_eq!((t.entry_time_ns, t.exit_time_ns, t.reason, t.in_entry_candle), (at(1), at(2), reason, false));
        approx(t.exit_price, exit);
        approx(t.result, result);
        // entry bar marked at the exit side's close: long 1.1000 - 1.10012, short 1.09998 - 1.1001: -12
        approx(out.equity[1], INITIAL - 12.0);
        approx(*out.balance.last().unwrap(), INITIAL + result);
    }
}

/// Wide bar: bid 1.0980 .. 1.1020 (ask 1.0981 .. 1.1021); triggers every order below.
const WIDE: [f64; 4] = [1.1000, 1.1020, 1.0980, 1.1000];
/// Narrow bar: bid 1.0998 .. 1.1002 (ask 1.0999 .. 1.1003); triggers none of them.
const NARROW: [f64; 4] = [1.1000, 1.1002, 1.0998, 1.1000];
const GAP_DOWN: [f64; 4] = [1.0970, 1.0975, 1.0960, 1.0970];
const GAP_UP: [f64; 4] = [1.1030, 1.1040, 1.1025, 1.1030];

type PendingCase = (&'static str, Direction, OrderKind, f64, [f64; 4], Option<f64>);

#[test]
fn pending_orders_trigger_from_the_next_bar_and_fill_gap_aware() {
    // Orders are placed at bar 0's close. Bar 0 (wide) would trigger each of them but is the
    // placement bar; bar 1 (narrow) triggers none; bar 2 decides; bar 3 closes (end of data).
    // (name, direction, kind, level, bar 2, expected fill)
    let cases: [PendingCase; 11] = [
        // long limit: ask.low <= 1.0995; fill min(1.0995, ask.open)
        ("long limit", Long, Limit, 1.0995, WIDE, Some(1.0995)),
        ("long limit, gap below", Long, Limit, 1.0995, GAP_DOWN, Some(1.0970 + SPREAD)),
        ("long limit, exactly at the ask low", Long, Limit, 1.0980 + SPREAD, WIDE, Some(1.0980 + SPREAD)),
        ("long limit, gap away", Long, Limit, 1.0995, GAP_UP, None),
        // short limit: bid.high >= 1.1015; fill max(1.1015, bid.open)
        ("short limit", Short, Limit, 1.1015, WIDE, Some(1.1015)),
        ("short limit, gap above", Short, Limit, 1.1015, GAP_UP, Some(1.1030)),
        // long stop: ask.high >= 1.1015; fill max(1.1015, ask.open)
        ("long stop", Long, Stop, 1.1015, WIDE, Some(1.1015)),
        ("long stop, gap above", Long, Stop, 1.1015, GAP_UP, Some(1.1030 + SPREAD)),
        // short stop: bid.low <= 1.0985; fill min(1.0985, bid.open)
        ("short stop", Short, Stop, 1.0985, WIDE, Some(1.0985)),
        ("short stop, gap below", Short, Stop, 1.0985, GAP_DOWN, Some(1.0970)),
        ("short stop, gap away", Short, Stop, 1.0985, GAP_UP, None),
    ];
    for (name, d, kind, level, trigger_bar, fill) in cases {
        let b = bars(&[WIDE, NARROW, trigger_bar, flat(1.1000)], SPREAD);
        let out = run(script(vec![(0, Action::Enter(signal(d, kind, level, None, None)))]), &setup(&b));
        match fill {
            Some(price) => {
                let t = only_trade(&out);
                assert_eq!((t.entry_time_ns, t.entry_price), (at(2), price), "{name}");
                // a limit never fills worse than its level, a stop never better
                let worse = (t.entry_price - level) * d.sign();
                assert!(if kind == Limit { worse <= 0.0 } else { worse >= 0.0 }, "{name}");
                assert_eq!((t.reason, out.counters.orders_cancelled), (ExitReason::EndOfData, 0), "{name}");
            }
            None => {
                assert!(out.trades.is_empty(), "{name}");
                assert_eq!(out.counters.orders_cancelled, 1, "{name}: an unfilled order is cancelled at the end");
            }
        }
    }
}

#[test]
fn stop_loss_in_the_trigger_bar_fills_at_the_level() {
    // Long stop 1.1015 with SL 1.1005. Trigger bar bid 1.1000 .. 1.1020: ask high 1.1021 fills
    // the stop at 1.1015 (ask open 1.1001 below it); bid low 1.1000 <= SL. The bar opened below
    // the SL, but the position did not exist at the open: exit at the level 1.1005, not 1.1000.
    // Result (1.1005 - 1.1015) * 100,000 = -100.
    let b = bars(&[NARROW, [1.1000, 1.1020, 1.1000, 1.1010], flat(1.1010)], SPREAD);
    let out = run(script(vec![(0, Action::Enter(signal(Long, Stop, 1.1015, Some(1.1005), None)))]), &setup(&b));
    let t = only_trade(&out);
    assert_eq!((t.entry_price, t.exit_price, t.reason), (1.1015, 1.1005, ExitReason::StopLoss));
    assert_eq!((t.entry_time_ns, t.exit_time_ns, t.in_entry_candle), (at(1), at(1), true));
    approx(t.result, -100.0);
}

#[test]
fn take_profit_in_the_trigger_bar_of_a_limit_entry_needs_the_close_beyond_it() {
    // Long limit 1.0995, TP 1.1010. Trigger bar bid 1.0990 .. 1.1015: fills at 1.0995, the high
    // reaches the TP, the close 1.1005 does not -> no exit; bar 2 (high 1.1012) takes it at 1.1010.
    let held = bars(&[NARROW, [1.1000, 1.1015, 1.0990, 1.1005], [1.1005, 1.1012, 1.1000, 1.1008]], SPREAD);
    let out = run(script(vec![(0, Action::Enter(signal(Long, Limit, 1.0995, None, Some(1.1010))))]), &setup(&held));
    let t = only_trade(&out);
    assert_eq!(
        (t.exit_time_ns, t.exit_price, t.reason, t.in_entry_candle),
        (at(2), 1.1010, ExitReason::TakeProfit, false)
    );
    approx(t.result, 150.0); // (1.1010 - 1.0995) * 100,000

    // Same, but the trigger bar closes at 1.1012, beyond the TP: exit at 1.1010 in the trigger bar.
    let beyond = bars(&[NARROW, [1.1000, 1.1015, 1.0990, 1.1012], flat(1.1008)], SPREAD);
    let out = run(script(vec![(0, Action::Enter(signal(Long, Limit, 1.0995, None, Some(1.1010))))]), &setup(&beyond));
    let t = only_trade(&out);
    assert_eq!(
        (t.exit_time_ns, t.exit_price, t.reason, t.in_entry_candle),
        (at(1), 1.1010, ExitReason::TakeProfit, true)
    );

    // Short limit 1.1005, TP 1.0990: trigger bar bid 1.0980 .. 1.1010 fills at 1.1005; the ask low
    // 1.0981 reaches the TP, the ask close 1.0996 is not beyond it -> held to the end.
    let short = bars(&[NARROW, [1.1000, 1.1010, 1.0980, 1.0995]], SPREAD);
    let out = run(script(vec![(0, Action::Enter(signal(Short, Limit, 1.1005, None, Some(1.0990))))]), &setup(&short));
    assert_eq!(only_trade(&out).reason, ExitReason::EndOfData);
}

#[test]
fn take_profit_in_the_trigger_bar_of_a_stop_entry_hits_on_the_extreme() {
    // Long stop 1.1005, TP 1.1015. Trigger bar bid 1.0999 .. 1.1020, close 1.1000: the stop fills
    // at 1.1005 (ask open 1.1001), the bid high 1.1020 reaches the TP -> exit 1.1015 in the bar.
    let b = bars(&[NARROW, [1.1000, 1.1020, 1.0999, 1.1000], flat(1.1000)], SPREAD);
    let out = run(script(vec![(0, Action::Enter(signal(Long, Stop, 1.1005, None, Some(1.1015))))]), &setup(&b));
    let t = only_trade(&out);
    assert_eq!(
        (t.entry_price, t.exit_price, t.reason, t.in_entry_candle),
        (1.1005, 1.1015, ExitReason::TakeProfit, true)
    );
}

#[test]
fn a_new_pending_order_replaces_the_old_one() {
    // Limit at 1.0990 placed at bar 0, replaced at bar 1 by a limit at 1.0950 (cancelled: 1).
    // Bar 2 (bid low 1.0980, ask low 1.0981) would fill the first but not the second.
    let b = bars(&[NARROW, NARROW, WIDE, NARROW], SPREAD);
    let out = run(
        script(vec![
            (0, Action::Enter(signal(Long, Limit, 1.0990, None, None))),
            (1, Action::Enter(signal(Long, Limit, 1.0950, None, None))),
        ]),
        &setup(&b),
    );
    assert!(out.trades.is_empty());
    assert_eq!(out.counters.orders_cancelled, 2, "replaced + unfilled at the end");
}

#[test]
fn a_market_entry_supersedes_a_pending_order() {
    // Bar 0: long limit 1.0990 (pending). Bar 1 (narrow, no trigger): a long market order opens
    // at the ask close 1.1001 and cancels the pending limit, which bar 2 (ask low 1.0981) would
    // have filled. One position per symbol, never dropped silently: the market position is the
    // one trade (closed at end of data) and every entry fill has its trade.
    let b = bars(&[NARROW, NARROW, WIDE, flat(1.1000)], SPREAD);
    let out = run(
        script(vec![
            (0, Action::Enter(signal(Long, Limit, 1.0990, None, None))),
            (1, Action::Enter(signal(Long, Market, 1.1001, None, None))),
        ]),
        &setup(&b),
    );
    let t = only_trade(&out);
    assert_eq!((t.entry_time_ns, t.entry_price, t.reason), (at(1), 1.1001, ExitReason::EndOfData));
    assert_eq!((out.counters.orders_cancelled, out.counters.orders_filled), (1, 2));
}

#[test]
fn a_pending_order_is_not_placed_while_a_position_is_open() {
    // Bar 0: a long market entry at the ask close 1.1001. Bar 1: a long limit at 1.0990, which
    // bar 2 (ask low 1.0981) would fill, is ignored by the one-position gate: it is never placed,
    // so it is neither filled nor cancelled.
    let b = bars(&[NARROW, NARROW, WIDE, flat(1.1000)], SPREAD);
    let out = run(
        script(vec![
            (0, Action::Enter(signal(Long, Market, 1.1001, None, None))),
            (1, Action::Enter(signal(Long, Limit, 1.0990, None, None))),
        ]),
        &setup(&b),
    );
    let t = only_trade(&out);
    assert_eq!((t.entry_time_ns, t.entry_price, t.reason), (at(0), 1.1001, ExitReason::EndOfData));
    assert_eq!((out.counters.signals, out.counters.orders_filled, out.counters.orders_cancelled), (2, 2, 0));
}
