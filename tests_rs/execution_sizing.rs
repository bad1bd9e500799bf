//! Sizing and costs: risk sizing floored to the volume step, rejections, the volume_max clamp,
//! fees per side and the conversion of quote PnL into an account in the base currency
//! (conventions in `common`).

mod common;

use common::*;
use omega_v2::domain::Direction::{self, Long, Short};
use omega_v2::domain::{Action, OrderKind, Signal, Sizing};
use omega_v2::engine::{EngineOutput, LoopProfiling, QuoteConversion};
use omega_v2::error::{ErrorCode, ErrorKind};
use serde_json::json;

/// Market entries on flat bars at 1.1000 (bid = ask), one per listed (bar, signal).
fn sizing_run(signals: Vec<(usize, Signal)>, risk: f64) -> EngineOutput {
    let b = bars(&[flat(1.1000); 6], 0.0);
    let st = setup_with(&b, json!({"account": {"risk_per_trade": risk}}));
    run(script(signals.into_iter().map(|(t, s)| (t, Action::Enter(s))).collect()), &st)
}

fn risk_signal(d: Direction, sl: Option<f64>) -> Signal {
    Signal { sizing: Sizing::Risk, ..signal(d, OrderKind::Market, 1.1000, sl, None) }
}

#[test]
fn risk_sizing_floors_to_the_volume_step() {
    // 100 / (0.0030 * 100,000) = 0.3333.. lots -> 0.33; 1R = 0.0030 * 0.33 * 100,000 = 99.
    let out = sizing_run(vec![(0, risk_signal(Long, Some(1.0970)))], 100.0);
    let t = only_trade(&out);
    assert_eq!(t.size, 0.33);
    approx(t.r_multiple.unwrap(), 0.0); // closed flat at end of data
                                        // short: SL 25 pips above -> 100 / 250 = 0.4 lots
    let out = sizing_run(vec![(0, risk_signal(Short, Some(1.1025)))], 100.0);
    assert_eq!(only_trade(&out).size, 0.4);
}

#[test]
fn rejected_entries_are_counted() {
    let out = sizing_run(
        vec![
            (0, risk_signal(Long, Some(1.1010))),            // SL above a long: invalid
            (1, risk_signal(Long, None)),                    // risk sizing without SL: invalid
            (2, risk_signal(Long, Some(1.1000 - 0.000005))), // 0.05 pips < 0.1 pips: too close
            (3, risk_signal(Short, Some(2.1000))),           // 100 / 100,000 = 0.001 lots < 0.01
            (4, signal(Short, OrderKind::Market, 1.1000, Some(1.0990), None)), // fixed lots, SL below a short
        ],
        100.0,
    );
    assert!(out.trades.is_empty());
    let c = &out.counters;
    assert_eq!((c.rejected_invalid_stop, c.rejected_stop_too_close, c.rejected_below_volume_min), (3, 1, 1));
    assert_eq!((c.signals, c.orders_filled), (5, 0));
    assert!(out.equity.iter().all(|e| *e == INITIAL), "a rejected entry costs nothing");
}

#[test]
fn sizes_are_clamped_to_volume_max() {
    // 10,000 / (0.0002 * 100,000) = 500 lots -> 200
    let out = sizing_run(vec![(0, risk_signal(Long, Some(1.0998)))], 10_000.0);
    assert_eq!(only_trade(&out).size, 200.0);
    assert_eq!(out.counters.sizes_clamped, 1);
}

#[test]
fn fees_are_booked_once_per_side() {
    // 2 lots at 2.5 per lot and side: 5 at entry (bar 0), 5 at exit (end of data, bar 2).
    // Result (1.1010 - 1.1000) * 2 * 100,000 = 200; final balance 10,000 + 200 - 10 = 10,190.
    let b = bars(&[flat(1.1000), flat(1.1005), flat(1.1010)], 0.0);
    let st = setup_of(&config(json!({"costs": {"enabled": true}})), &specs_with_costs(2.5, 0.0, 0.0), &b);
    let s = Signal { sizing: Sizing::Lots(2.0), ..market(&b, 0, Long, None, None) };
    let out = run(script(vec![(0, Action::Enter(s))]), &st);
    let t = only_trade(&out);
    assert_eq!(t.fees, 10.0);
    approx(t.result, 200.0);
    assert_eq!(&out.balance[..2], [9_995.0, 9_995.0]);
    approx(out.equity[1], 9_995.0 + 100.0); // +5 pips on 2 lots
    approx(out.balance[2], 10_190.0);
    approx(out.equity[2], 10_190.0);
}

#[test]
fn fee_multiplier_scales_and_disabled_costs_cancel_fees_and_slippage() {
    // Same trade as above: fee_multiplier 2 doubles both sides (2 * 2 lots * 2.5 = 10 each);
    // with costs disabled neither the fees nor the 0.2 pip slippage apply.
    let b = bars(&[flat(1.1000), flat(1.1005), flat(1.1010)], 0.0);
    let s = Signal { sizing: Sizing::Lots(2.0), ..market(&b, 0, Long, None, None) };
    let costs = specs_with_costs(2.5, 0.2, 0.0);
    let doubled = setup_of(&config(json!({"costs": {"enabled": true, "fee_multiplier": 2.0}})), &costs, &b);
    let out = run(script(vec![(0, Action::Enter(s.clone()))]), &doubled);
    assert_eq!(only_trade(&out).fees, 20.0);
    approx(only_trade(&out).entry_price, 1.10002);
    let off = setup_of(&config(json!({"costs": {"enabled": false}})), &costs, &b);
    let out = run(script(vec![(0, Action::Enter(s))]), &off);
    let t = only_trade(&out);
    assert_eq!((t.fees, t.entry_price, t.exit_price), (0.0, 1.1000, 1.1010));
}

#[test]
fn eur_account_converts_at_the_mid_close() {
    // EUR account on EURUSD: quote (USD) PnL is divided by the mid close of the bar.
    // Dyadic prices, spread 0.125: bar 0 bid 1.25 / ask 1.375 (mid 1.3125); bar 1 bid 1.4375 /
    // ask 1.5625 (mid 1.5); bar 2 bid 1.5 / ask 1.625 (mid 1.5625).
    let b = bars(&[flat(1.25), flat(1.4375), flat(1.5)], 0.125);
    let st = setup_with(&b, json!({"account": {"account_currency": "EUR"}}));
    assert_eq!(st.conversion, QuoteConversion::InverseMid);
    // 1 lot long at the ask 1.375, closed at bar 2's bid 1.5: 12,500 USD / 1.5625 = 8,000 EUR.
    let out = run(script(vec![(0, Action::Enter(market(&b, 0, Long, None, None)))]), &st);
    approx(only_trade(&out).result, 8_000.0);
    // bar 1 marked at the bid 1.4375: 6,250 USD / 1.5
    approx(out.equity[1], INITIAL + 6_250.0 / 1.5);
    approx(out.equity[2], INITIAL + 8_000.0);

    // Risk sizing converts at the entry bar's mid: SL 0.0625 below the fill 1.375 risks
    // 6,250 USD / 1.3125 = 4,761.9 EUR per lot; 100 EUR -> 0.021 lots -> 0.02.
    // 1R = 0.0625 * 0.02 * 100,000 / 1.3125 = 95.238..; result 0.125 * 2,000 / 1.5625 = 160.
    let s = Signal { sizing: Sizing::Risk, ..market(&b, 0, Long, Some(1.3125), None) };
    let out = run(script(vec![(0, Action::Enter(s))]), &st);
    let t = only_trade(&out);
    assert_eq!(t.size, 0.02);
    approx(t.result, 160.0);
    approx(t.r_multiple.unwrap(), 160.0 / (125.0 / 1.3125));
}

#[test]
fn an_account_currency_outside_the_pair_cannot_be_set_up() {
    let b = bars(&[flat(1.1000)], 0.0);
    let cfg = config(json!({"account": {"account_currency": "GBP"}}));
    let err =
        omega_v2::engine::EngineSetup::new(&cfg, &specs(), &b, 0, Vec::new(), LoopProfiling::OFF).err().expect("GBP");
    assert_eq!((err.kind(), err.code), (ErrorKind::Config, ErrorCode::ConfigAccountCurrency));
    assert_eq!(err.context.get("field").map(String::as_str), Some("account.account_currency"));
    assert!(err.message.contains("EUR") && err.message.contains("USD"), "{err}");
    assert!(!err.to_string().contains("GBP"), "the config value is not quoted: {err}");
}
