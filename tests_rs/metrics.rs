//! The metrics catalogue against hand-derived values: edge cases without trades or losses,
//! drawdowns, ratios, rounding on write, daily Sharpe/Sortino and the headline subset.

mod common;

use common::{approx, t0, MIN};
use omega_v2::domain::Direction;
use omega_v2::execution::{ExitReason, StopLossKind, Trade};
use omega_v2::metrics::{self, Metrics, Value, CATALOGUE, HEADLINE};
use omega_v2::run::Headline;
use omega_v2::timefmt::NANOS_PER_DAY;

/// A long 1-lot trade closed one minute after it opened on `day`.
fn closed(day: i64, result: f64, fees: f64, r: Option<f64>) -> Trade {
    Trade {
        direction: Direction::Long,
        entry_time_ns: t0() + day * NANOS_PER_DAY,
        exit_time_ns: t0() + day * NANOS_PER_DAY + MIN,
        entry_price: 1.1,
        exit_price: 1.1,
        stop_loss: None,
        take_profit: None,
        initial_stop_loss: None,
        size: 1.0,
        result,
        fees,
        r_multiple: r,
        reason: ExitReason::Signal,
        scenario_id: 0,
        in_entry_candle: false,
        stop_loss_kind: StopLossKind::None,
        snapshot: vec![],
    }
}

/// One equity row per given (day, minute).
fn times_of(rows: &[(i64, i64)]) -> Vec<i64> {
    rows.iter().map(|&(d, m)| t0() + d * NANOS_PER_DAY + m * MIN).collect()
}

fn m(metrics: &Metrics, key: &str) -> Value {
    metrics.get(key).unwrap_or_else(|| panic!("no metric {key}"))
}

#[test]
fn without_trades() {
    let times = times_of(&[(0, 0), (0, 1), (1, 0)]);
    let mx = metrics::compute(&[], &[100.0; 3], &times, 100.0);
    assert!(mx.values.iter().map(|(k, _)| *k).eq(CATALOGUE.iter().map(|(k, _)| *k)), "catalogue order");
    for key in ["total_trades", "wins", "losses", "max_drawdown_duration_bars"] {
        assert_eq!(m(&mx, key), Value::Count(0), "{key}");
    }
    for key in ["win_rate", "max_drawdown", "avg_r_multiple", "profit_factor", "trades_per_day"] {
        assert_eq!(m(&mx, key), Value::Ratio(0.0), "{key}");
    }
    for key in ["profit_gross", "fees_total", "profit_net", "max_drawdown_abs", "avg_trade_pnl", "expectancy"] {
        assert_eq!(m(&mx, key), Value::Money(0.0), "{key}");
    }
    assert_eq!(m(&mx, "active_days"), Value::Count(2));
    for key in ["sharpe_trade_r", "sortino_trade_r", "sharpe_equity_daily", "sortino_equity_daily"] {
        assert_eq!(m(&mx, key), Value::NotAvailable, "{key}");
    }
    let text = serde_json::to_string(&mx).unwrap();
    assert!(text.contains(r#""sharpe_trade_r":"n/a""#), "{text}");
    assert!(text.contains(r#""win_rate":0.0"#), "{text}");
}

#[test]
fn profit_factor_is_zero_without_losses() {
    // nets 45 and 18: wins 2, losses 0 -> profit factor 0; expectancy = avg net = 31.5
    let trades = [closed(0, 50.0, 5.0, None), closed(0, 20.0, 2.0, None)];
    let times = times_of(&[(0, 0), (0, 1)]);
    let mx = metrics::compute(&trades, &[100.0, 163.0], &times, 100.0);
    assert_eq!((m(&mx, "wins"), m(&mx, "losses")), (Value::Count(2), Value::Count(0)));
    assert_eq!(m(&mx, "profit_factor"), Value::Ratio(0.0));
    assert_eq!(m(&mx, "win_rate"), Value::Ratio(1.0));
    assert_eq!(
        (m(&mx, "profit_gross"), m(&mx, "fees_total"), m(&mx, "profit_net")),
        (Value::Money(70.0), Value::Money(7.0), Value::Money(63.0))
    );
    assert_eq!((m(&mx, "expectancy"), m(&mx, "avg_trade_pnl")), (Value::Money(31.5), Value::Money(31.5)));
    // Fees can turn a positive result into a loss: net 3 - 5 = -2 -> profit factor 63 / 2.
    let trades = [closed(0, 50.0, 5.0, None), closed(0, 20.0, 2.0, None), closed(0, 3.0, 5.0, None)];
    let mx = metrics::compute(&trades, &[100.0, 161.0], &times, 100.0);
    assert_eq!((m(&mx, "wins"), m(&mx, "losses")), (Value::Count(2), Value::Count(1)));
    assert_eq!(m(&mx, "profit_factor"), Value::Ratio(31.5));
}

#[test]
fn drawdowns() {
    let times = times_of(&[(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (0, 5)]);
    let dd = |equity: &[f64], initial: f64| {
        let mx = metrics::compute(&[], equity, &times[..equity.len()], initial);
        (m(&mx, "max_drawdown"), m(&mx, "max_drawdown_abs"), m(&mx, "max_drawdown_duration_bars"))
    };
    // flat equity: nothing
    assert_eq!(dd(&[100.0; 4], 100.0), (Value::Ratio(0.0), Value::Money(0.0), Value::Count(0)));
    // no recovery: high water 110 at bar 1, underwater at bars 2, 3, 4 until the end -> 3 bars;
    // deepest 110 - 104 = 6, ratio 6 / 110
    let (ratio, abs, bars) = dd(&[100.0, 110.0, 105.0, 104.0, 106.0], 100.0);
    assert_eq!((abs, bars), (Value::Money(6.0), Value::Count(3)));
    approx(ratio.rounded().unwrap(), 0.054545);
    // recovery at bar 4 (111 > 110) ends the first span (bars 2, 3); bar 5 is 1 bar -> max 2.
    // (Duration counts the bars below the high water: the recovery bar itself is not counted.)
    assert_eq!(dd(&[100.0, 110.0, 105.0, 104.0, 111.0, 109.0], 100.0).2, Value::Count(2));
    // below the initial balance from the first row: high water starts at the initial balance
    assert_eq!(dd(&[90.0, 95.0, 100.0], 100.0), (Value::Ratio(0.1), Value::Money(10.0), Value::Count(2)));
    // high water 0: ratio 0, absolute drawdown still reported
    assert_eq!(dd(&[0.0, -5.0], 0.0), (Value::Ratio(0.0), Value::Money(5.0), Value::Count(1)));
}

#[test]
fn ratios_and_rounding() {
    // results 33.333.., -10, 5 (no fees) with R 1, -1, 2:
    //   win_rate 2/3 -> 0.666667; profit_gross 28.333.. -> 28.33; profit_factor 38.333../10 -> 3.833333
    //   expectancy 28.333../3 = 9.444.. -> 9.44; avg R 2/3
    //   sharpe R = (2/3) / sqrt(((1/3)^2 + (5/3)^2 + (4/3)^2) / 2) = (2/3) / sqrt(7/3) = 0.436436
    //   sortino R = (2/3) / sqrt(1/3) = 1.154701
    let trades =
        [closed(0, 100.0 / 3.0, 0.0, Some(1.0)), closed(0, -10.0, 0.0, Some(-1.0)), closed(1, 5.0, 0.0, Some(2.0))];
    let times = times_of(&[(0, 0), (1, 0)]);
    let mx = metrics::compute(&trades, &[100.0, 128.0], &times, 100.0);
    let r = |k: &str| m(&mx, k).rounded().unwrap();
    assert_eq!(
        [r("win_rate"), r("profit_gross"), r("profit_factor"), r("expectancy"), r("avg_r_multiple")],
        [0.666667, 28.33, 3.833333, 9.44, 0.666667]
    );
    assert_eq!([r("sharpe_trade_r"), r("sortino_trade_r")], [0.436436, 1.154701]);
    assert_eq!(r("trades_per_day"), 1.5);
    let text = serde_json::to_string(&mx).unwrap();
    assert!(text.contains(r#""win_rate":0.666667,"#) && text.contains(r#""profit_gross":28.33,"#), "{text}");
    // -0.004 rounds to 0.0, never -0.0
    assert_eq!(Value::Money(-0.004).rounded().unwrap().to_bits(), 0f64.to_bits());
    assert_eq!(Value::Ratio(-0.0000004).rounded().unwrap().to_bits(), 0f64.to_bits());
}

#[test]
fn daily_sharpe_and_sortino() {
    // Day-end equities 101, 99, 102 from 100: returns 0.01, -2/101, 3/99 (the first against the
    // initial balance; intraday rows do not count).
    let times = times_of(&[(0, 0), (0, 5), (1, 0), (1, 9), (2, 3)]);
    let mx = metrics::compute(&[], &[150.0, 101.0, 80.0, 99.0, 102.0], &times, 100.0);
    let rets = [0.01, 99.0 / 101.0 - 1.0, 102.0 / 99.0 - 1.0];
    let mean = rets.iter().sum::<f64>() / 3.0;
    let sd = (rets.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    let down = (rets.iter().map(|x| x.min(0.0).powi(2)).sum::<f64>() / 3.0).sqrt();
    let r = |k: &str| m(&mx, k).rounded().unwrap();
    assert!((r("sharpe_equity_daily") - mean / sd * 252f64.sqrt()).abs() <= 5e-7);
    assert!((r("sortino_equity_daily") - mean / down * 252f64.sqrt()).abs() <= 5e-7);
    assert_eq!(m(&mx, "active_days"), Value::Count(3));
}

#[test]
fn every_headline_metric_is_in_the_catalogue_once() {
    let catalogue: Vec<&str> = CATALOGUE.iter().map(|(k, _)| *k).collect();
    for key in HEADLINE {
        assert!(catalogue.contains(&key), "headline metric {key} is not in the catalogue");
    }
    let mut unique = HEADLINE.to_vec();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), HEADLINE.len(), "a headline metric is listed twice");
}

#[test]
fn the_headline_holds_the_headline_keys_in_order_with_their_values() {
    // One day, one win of 50 net (R 1): total 1, win rate 1, profit 50, no drawdown, no losses
    // (profit factor 0), one daily return only (Sharpe n/a).
    let times = times_of(&[(0, 0), (0, 1)]);
    let mx = metrics::compute(&[closed(0, 55.0, 5.0, Some(1.0))], &[100.0, 150.0], &times, 100.0);
    let Headline(values) = Headline::of(&mx);
    assert_eq!(values.iter().map(|(k, _)| *k).collect::<Vec<_>>(), HEADLINE);
    let by_hand = |k: &str| match k {
        "total_trades" => Value::Count(1),
        "win_rate" => Value::Ratio(1.0),
        "profit_net" => Value::Money(50.0),
        "max_drawdown" | "profit_factor" => Value::Ratio(0.0),
        "sharpe_equity_daily" => Value::NotAvailable,
        other => panic!("derive the value of the new headline metric {other} by hand here"),
    };
    for (k, v) in &values {
        assert_eq!(*v, by_hand(k), "{k}");
    }
}
