//! The metrics catalogue: every key with its definition (unit, description, domain,
//! source, type), edge cases and rounding on write (currency 2 decimals, ratios 6).

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::execution::Trade;
use crate::timefmt::day_of;

/// Trading days per year used to annualise daily Sharpe/Sortino.
const TRADING_DAYS_PER_YEAR: f64 = 252.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Count(u64),
    /// Account currency, rounded to 2 decimals on write.
    Money(f64),
    /// Ratio or score, rounded to 6 decimals on write.
    Ratio(f64),
    /// Not enough samples (written as `"n/a"`).
    NotAvailable,
}

impl Value {
    /// The value as written: rounded, `-0.0` normalised to `0.0`.
    pub fn rounded(self) -> Option<f64> {
        let round = |x: f64, scale: f64| {
            let r = (x * scale).round() / scale;
            if r == 0.0 {
                0.0
            } else {
                r
            }
        };
        match self {
            Value::Count(c) => Some(c as f64),
            Value::Money(x) => Some(round(x, 100.0)),
            Value::Ratio(x) => Some(round(x, 1e6)),
            Value::NotAvailable => None,
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Count(c) => s.serialize_u64(*c),
            Value::NotAvailable => s.serialize_str("n/a"),
            other => s.serialize_f64(other.rounded().unwrap_or(0.0)),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Definition {
    pub unit: &'static str,
    pub description: &'static str,
    pub domain: &'static str,
    pub source: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

const fn def(
    unit: &'static str,
    description: &'static str,
    domain: &'static str,
    source: &'static str,
    kind: &'static str,
) -> Definition {
    Definition { unit, description, domain, source, kind }
}

/// Key order and definitions of `metrics.json` (one entry per metric; add new ones here).
pub const CATALOGUE: &[(&str, Definition)] = &[
    ("total_trades", def("count", "Number of closed trades", ">= 0", "trades", "int")),
    ("wins", def("count", "Trades with net PnL (result - fees) > 0", ">= 0", "trades", "int")),
    ("losses", def("count", "Trades with net PnL (result - fees) < 0", ">= 0", "trades", "int")),
    ("win_rate", def("ratio", "wins / total_trades; 0 without trades", "[0, 1]", "trades", "float")),
    ("profit_gross", def("account_currency", "Sum of trade results before fees", "real", "trades", "float")),
    ("fees_total", def("account_currency", "Sum of fees, both sides of every trade", ">= 0", "trades", "float")),
    ("profit_net", def("account_currency", "profit_gross - fees_total", "real", "trades", "float")),
    ("max_drawdown", def("ratio", "Largest (high_water - equity) / high_water over all bars; high water starts at the initial balance; 0 when high water <= 0", "[0, 1]", "equity", "float")),
    ("max_drawdown_abs", def("account_currency", "Largest high_water - equity over all bars", ">= 0", "equity", "float")),
    ("max_drawdown_duration_bars", def("bars", "Longest span from a high-water bar until equity recovers to it, or until the end", ">= 0", "equity", "int")),
    ("avg_r_multiple", def("R", "Mean of r_multiple (result / initial risk) over trades with a stop loss; 0 without such trades", "real", "trades", "float")),
    ("profit_factor", def("ratio", "Sum of net wins / |sum of net losses|; 0 when there are no losses", ">= 0", "trades", "float")),
    ("avg_trade_pnl", def("account_currency", "profit_net / total_trades; 0 without trades", "real", "trades", "float")),
    ("expectancy", def("account_currency", "win_rate * average net win - loss_rate * average |net loss|; 0 without trades", "real", "trades", "float")),
    ("active_days", def("days", "Distinct UTC calendar days with at least one bar in the run", ">= 0", "equity", "int")),
    ("trades_per_day", def("trades/day", "total_trades / active_days; 0 without active days", ">= 0", "trades+equity", "float")),
    ("sharpe_trade_r", def("score", "mean(R) / sample std(R) over trades with a stop loss; \"n/a\" with < 2 samples or zero spread", "real or n/a", "trades", "float|n/a")),
    ("sortino_trade_r", def("score", "mean(R) / sqrt(mean(min(R, 0)^2)); \"n/a\" with < 2 samples or no losing R", "real or n/a", "trades", "float|n/a")),
    ("sharpe_equity_daily", def("score", "Annualised (x sqrt(252)) mean / sample std of daily equity returns (UTC day-end equity, first return against the initial balance); \"n/a\" with < 2 days or zero spread", "real or n/a", "equity", "float|n/a")),
    ("sortino_equity_daily", def("score", "Annualised (x sqrt(252)) mean daily return / sqrt(mean(min(r, 0)^2)); \"n/a\" with < 2 days or no losing day", "real or n/a", "equity", "float|n/a")),
];

/// The metrics a run summary, a sweep row and a result's repr show first.
pub const HEADLINE: [&str; 6] =
    ["total_trades", "win_rate", "profit_net", "max_drawdown", "profit_factor", "sharpe_equity_daily"];

/// Computed metrics in catalogue order.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    pub values: Vec<(&'static str, Value)>,
}

impl Metrics {
    pub fn get(&self, key: &str) -> Option<Value> {
        self.values.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// `metrics.json`: `{"metrics": {...}, "definitions": {...}}` in catalogue order.
impl Serialize for Metrics {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Flat<'a>(&'a [(&'static str, Value)]);
        impl Serialize for Flat<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (k, v) in self.0 {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
        struct Defs;
        impl Serialize for Defs {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(CATALOGUE.len()))?;
                for (k, d) in CATALOGUE {
                    m.serialize_entry(k, d)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("metrics", &Flat(&self.values))?;
        m.serialize_entry("definitions", &Defs)?;
        m.end()
    }
}

/// High water and drawdown per bar; the high water starts at the initial balance.
/// Shared by the metrics and by `equity.csv` so both always agree.
pub fn drawdowns(equity: &[f64], initial_balance: f64) -> impl Iterator<Item = (f64, f64)> + '_ {
    equity.iter().scan(initial_balance, |hwm, &e| {
        *hwm = hwm.max(e);
        Some((*hwm, *hwm - e))
    })
}

/// All metrics of a run. `time_ns` holds the open time of each equity row.
pub fn compute(trades: &[Trade], equity: &[f64], time_ns: &[i64], initial_balance: f64) -> Metrics {
    let t = trade_stats(trades);
    let d = drawdown_stats(equity, initial_balance);
    let days = active_days(time_ns);
    let daily = daily_returns(equity, time_ns, initial_balance);
    let total = trades.len() as f64;
    let per_trade = |x: f64| if trades.is_empty() { 0.0 } else { x / total };
    let values = vec![
        ("total_trades", Value::Count(trades.len() as u64)),
        ("wins", Value::Count(t.wins)),
        ("losses", Value::Count(t.losses)),
        ("win_rate", Value::Ratio(per_trade(t.wins as f64))),
        ("profit_gross", Value::Money(t.gross)),
        ("fees_total", Value::Money(t.fees)),
        ("profit_net", Value::Money(t.gross - t.fees)),
        ("max_drawdown", Value::Ratio(d.max_ratio)),
        ("max_drawdown_abs", Value::Money(d.max_abs)),
        ("max_drawdown_duration_bars", Value::Count(d.max_duration)),
        ("avg_r_multiple", Value::Ratio(mean(&t.r).unwrap_or(0.0))),
        ("profit_factor", Value::Ratio(if t.loss_sum < 0.0 { t.win_sum / -t.loss_sum } else { 0.0 })),
        ("avg_trade_pnl", Value::Money(per_trade(t.gross - t.fees))),
        ("expectancy", Value::Money(per_trade(t.win_sum) + per_trade(t.loss_sum))),
        ("active_days", Value::Count(days)),
        ("trades_per_day", Value::Ratio(if days == 0 { 0.0 } else { total / days as f64 })),
        ("sharpe_trade_r", sharpe(&t.r, 1.0)),
        ("sortino_trade_r", sortino(&t.r, 1.0)),
        ("sharpe_equity_daily", sharpe(&daily, TRADING_DAYS_PER_YEAR.sqrt())),
        ("sortino_equity_daily", sortino(&daily, TRADING_DAYS_PER_YEAR.sqrt())),
    ];
    debug_assert!(values.iter().map(|(k, _)| *k).eq(CATALOGUE.iter().map(|(k, _)| *k)));
    Metrics { values }
}

struct TradeStats {
    wins: u64,
    losses: u64,
    gross: f64,
    fees: f64,
    win_sum: f64,
    loss_sum: f64,
    r: Vec<f64>,
}

fn trade_stats(trades: &[Trade]) -> TradeStats {
    let mut s = TradeStats { wins: 0, losses: 0, gross: 0.0, fees: 0.0, win_sum: 0.0, loss_sum: 0.0, r: Vec::new() };
    for tr in trades {
        let net = tr.net();
        s.gross += tr.result;
        s.fees += tr.fees;
        if net > 0.0 {
            s.wins += 1;
            s.win_sum += net;
        } else if net < 0.0 {
            s.losses += 1;
            s.loss_sum += net;
        }
        s.r.extend(tr.r_multiple);
    }
    s
}

struct DrawdownStats {
    max_ratio: f64,
    max_abs: f64,
    max_duration: u64,
}

fn drawdown_stats(equity: &[f64], initial_balance: f64) -> DrawdownStats {
    let mut s = DrawdownStats { max_ratio: 0.0, max_abs: 0.0, max_duration: 0 };
    let mut peak_index: Option<usize> = None;
    for (i, (hwm, dd)) in drawdowns(equity, initial_balance).enumerate() {
        if dd > 0.0 {
            s.max_abs = s.max_abs.max(dd);
            if hwm > 0.0 {
                s.max_ratio = s.max_ratio.max(dd / hwm);
            }
            // Bars since the last bar at the high water (before the first row: the start).
            let since = match peak_index {
                Some(p) => i - p,
                None => i + 1,
            };
            s.max_duration = s.max_duration.max(since as u64);
        } else {
            peak_index = Some(i);
        }
    }
    s
}

fn active_days(time_ns: &[i64]) -> u64 {
    let mut days = 0;
    let mut last = None;
    for &t in time_ns {
        let d = day_of(t);
        if last != Some(d) {
            days += 1;
            last = Some(d);
        }
    }
    days
}

/// Returns between consecutive UTC day-end equities, the first against the initial balance.
fn daily_returns(equity: &[f64], time_ns: &[i64], initial_balance: f64) -> Vec<f64> {
    let mut returns = Vec::new();
    let mut prev = initial_balance;
    for (i, &e) in equity.iter().enumerate() {
        let day_ends = i + 1 == equity.len() || day_of(time_ns[i + 1]) != day_of(time_ns[i]);
        if day_ends {
            if prev != 0.0 {
                returns.push(e / prev - 1.0);
            }
            prev = e;
        }
    }
    returns
}

fn mean(x: &[f64]) -> Option<f64> {
    (!x.is_empty()).then(|| x.iter().sum::<f64>() / x.len() as f64)
}

fn sharpe(x: &[f64], scale: f64) -> Value {
    if x.len() < 2 {
        return Value::NotAvailable;
    }
    let m = mean(x).unwrap_or(0.0);
    let var = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64;
    if var <= 0.0 {
        return Value::NotAvailable;
    }
    Value::Ratio(m / var.sqrt() * scale)
}

fn sortino(x: &[f64], scale: f64) -> Value {
    if x.len() < 2 {
        return Value::NotAvailable;
    }
    let m = mean(x).unwrap_or(0.0);
    let downside = (x.iter().map(|v| v.min(0.0).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    if downside <= 0.0 {
        return Value::NotAvailable;
    }
    Value::Ratio(m / downside * scale)
}
