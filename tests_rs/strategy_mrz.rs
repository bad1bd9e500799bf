//! `mean_reversion_z_score` (MRZ): scenarios 1-3 against hand-derived signals, levels and trades,
//! cross-checked by naive indicator implementations written here (conventions in `common`).

mod common;

use common::*;
use omega_v2::data::synth::{generate_m1, SynthSpec};
use omega_v2::domain::Direction::{self, Long, Short};
use omega_v2::error::{ErrorCode, ErrorKind};
use omega_v2::execution::ExitReason;
use omega_v2::market::{Bars, Ohlc};
use omega_v2::strategy::{self, IMPLEMENTED_MRZ_SCENARIOS};
use omega_v2::timefmt::NANOS_PER_DAY;
use serde_json::{json, Value as Json};

// ------------------------------------------------------------------------------------------
// Naive indicators, straight from their definitions

/// EMA with alpha = 2 / (n + 1), seeded with the first value.
fn naive_ema(x: &[f64], n: usize) -> Vec<f64> {
    let alpha = 2.0 / (n as f64 + 1.0);
    let mut out = vec![x[0]];
    for i in 1..x.len() {
        out.push(alpha * x[i] + (1.0 - alpha) * out[i - 1]);
    }
    out
}

/// Wilder ATR: mean of the first n true ranges at n - 1, then (prev * (n - 1) + TR) / n.
fn naive_atr(side: &Ohlc, n: usize) -> Vec<f64> {
    let tr: Vec<f64> = (0..side.len())
        .map(|t| {
            let range = side.high[t] - side.low[t];
            if t == 0 {
                return range;
            }
            let prev = side.close[t - 1];
            range.max((side.high[t] - prev).abs()).max((side.low[t] - prev).abs())
        })
        .collect();
    let mut out = vec![f64::NAN; tr.len()];
    out[n - 1] = tr[..n].iter().sum::<f64>() / n as f64;
    for t in n..tr.len() {
        out[t] = (out[t - 1] * (n - 1) as f64 + tr[t]) / n as f64;
    }
    out
}

/// Mean and sum of squared deviations of `w`.
fn moments(w: &[f64]) -> (f64, f64) {
    let mean = w.iter().sum::<f64>() / w.len() as f64;
    (mean, w.iter().map(|x| (x - mean).powi(2)).sum())
}

/// `r[t]` over the sample standard deviation of the last `window` values (NaN before the first
/// full window and where the deviation is 0).
fn naive_zscore(r: &[f64], window: usize) -> Vec<f64> {
    (0..r.len())
        .map(|t| {
            if t + 1 < window {
                return f64::NAN;
            }
            let (_, m2) = moments(&r[t + 1 - window..=t]);
            if m2 == 0.0 {
                f64::NAN
            } else {
                r[t] / (m2 / (window - 1) as f64).sqrt()
            }
        })
        .collect()
}

/// Scenario 1's z: the residual to the EMA, z-scored.
fn naive_z(close: &[f64], ema_len: usize, window: usize) -> Vec<f64> {
    let r: Vec<f64> = close.iter().zip(naive_ema(close, ema_len)).map(|(c, e)| c - e).collect();
    naive_zscore(&r, window)
}

/// Kalman-Z: the residual to a random-walk Kalman level (x0 = first value, P0 = r; then
/// P' = P + q, K = P' / (P' + r), x += K (v - x), P = (1 - K) P'), z-scored.
fn naive_kalman_z(close: &[f64], r: f64, q: f64, window: usize) -> Vec<f64> {
    let (mut level, mut p) = (close[0], r);
    let mut residuals = vec![0.0];
    for &v in &close[1..] {
        let predicted = p + q;
        let k = predicted / (predicted + r);
        level += k * (v - level);
        p = (1.0 - k) * predicted;
        residuals.push(v - level);
    }
    naive_zscore(&residuals, window)
}

/// Bollinger (mid, lower, upper) at `t`: SMA and population standard deviation of `n` closes.
fn naive_bollinger(close: &[f64], n: usize, factor: f64, t: usize) -> (f64, f64, f64) {
    let (mid, m2) = moments(&close[t + 1 - n..=t]);
    let width = factor * (m2 / n as f64).sqrt();
    (mid, mid - width, mid + width)
}

// ------------------------------------------------------------------------------------------
// Series and parameters

/// window 3, EMA 3 (alpha 0.5), ATR 2, atr_mult 2, thresholds -1.5 / 1.5, over the example's
/// parameters (Bollinger 20 x 2, Kalman r 1 q 0.1, tp_min_distance 0.0010, both directions,
/// scenario 1, no cooldown), then `extra`.
fn mrz(extra: Json) -> Json {
    let mut p = json!({
        "window_length": 3, "ema_length": 3, "atr_length": 2, "atr_mult": 2.0,
        "z_score_long": -1.5, "z_score_short": 1.5, "cooldown_bars": 0,
    });
    merge(&mut p, extra);
    json!({ "strategy_parameters": p })
}

/// Scenarios 2/3 on the short windows: Bollinger 5 x 1.5 plus `extra`.
fn mrz_bands(scenarios: &[u8], extra: Json) -> Json {
    let mut p = json!({"enabled_scenarios": scenarios, "b_b_length": 5, "std_factor": 1.5});
    merge(&mut p, extra);
    mrz(p)
}

fn run_mrz(bars: &Bars, overrides: Json) -> Ran {
    run_config(bars, overrides).unwrap()
}

/// Flat bid bars at 1.1000 (range 1.0995 .. 1.1005, TR 0.0010) up to bar `flat_until`, then
/// `rest`. Flat closes give residuals of exactly 0 (EMA and Kalman level stay at 1.1000), so
/// no z is defined there (s = 0) and a flat Bollinger window has no width.
fn after_flat(flat_until: usize, rest: &[[f64; 4]], spread: f64) -> Bars {
    let mut rows = vec![[1.1000, 1.1005, 1.0995, 1.1000]; flat_until];
    rows.extend_from_slice(rest);
    bars(&rows, spread)
}

/// Drop at bar 10: bid 1.1000 -> 1.0960 (low 1.0955); bar 11 rebounds to a high of `high`.
fn drop_bars(high: f64, spread: f64) -> Bars {
    after_flat(10, &[[1.1000, 1.1000, 1.0955, 1.0960], [1.0960, high, 1.0958, 1.0985]], spread)
}

/// Spike at bar 10: bid 1.1000 -> 1.1040 (high 1.1045); bar 11 falls back to a low of 1.1010.
fn spike_bars() -> Bars {
    after_flat(10, &[[1.1000, 1.1045, 1.1000, 1.1040], [1.1040, 1.1042, 1.1010, 1.1015]], SPREAD)
}

fn directions(ran: &Ran) -> Vec<Direction> {
    ran.out.trades.iter().map(|t| t.direction).collect()
}

// ------------------------------------------------------------------------------------------
// Scenario 1: z-score of the residual to the EMA, TP at the EMA

#[test]
fn scenario_1_long_by_hand() {
    // Bar 10: EMA = 1.1 + 0.5 * (1.0960 - 1.1) = 1.0980; residuals of the window [0, 0, r]
    // with r = -0.0020: mean r/3, sample variance r^2/3, so z = r / (|r|/sqrt 3) = -sqrt 3 =
    // -1.732 <= -1.5 -> long (the first defined z). ATR_bid: TR 0.0010 until bar 9, TR[10] =
    // max(0.0045, |1.1000 - 1.1000|, |1.0955 - 1.1000|) = 0.0045, ATR = (0.0010 + 0.0045) / 2
    // = 0.00275. SL = 1.0955 - 2 * 0.00275 = 1.0900, TP = EMA = 1.0980 > ask close 1.0961.
    // Size 100 / ((1.0961 - 1.0900) * 100,000) = 0.1639 -> 0.16 lots. Bar 11's bid high 1.0990
    // reaches the TP (open 1.0960 below it): exit 1.0980, result 0.0019 * 16,000 = 30.4.
    let b = drop_bars(1.0990, SPREAD);
    let z = naive_z(&b.bid.close, 3, 3);
    assert!(z[..10].iter().all(|v| v.is_nan()));
    approx(z[10], -(3f64.sqrt()));
    let ema = naive_ema(&b.bid.close, 3);
    let atr = naive_atr(&b.bid, 2);
    approx(ema[10], 1.0980);
    approx(atr[10], 0.00275);

    let ran = run_mrz(&b, mrz(json!({})));
    assert_eq!(ran.first_signal_index, 2); // max(window - 1, atr_length - 1)
    let t = only_trade(&ran.out);
    assert_eq!((t.direction, t.entry_time_ns, t.scenario_id), (Long, at(10), 1));
    assert_eq!(t.entry_price, b.ask.close[10]);
    approx(t.stop_loss.unwrap(), b.bid.low[10] - 2.0 * atr[10]);
    approx(t.stop_loss.unwrap(), 1.0900);
    approx(t.take_profit.unwrap(), ema[10]);
    assert_eq!(t.size, 0.16);
    assert_eq!((t.reason, t.exit_time_ns), (ExitReason::TakeProfit, at(11)));
    approx(t.result, 30.4);
    assert_eq!(snapshot_names(t), ["z", "ema", "atr"]);
    approx(t.snapshot[0].1, z[10]);
}

#[test]
fn scenario_1_short_by_hand() {
    // Mirror: r = +0.0020, z = +sqrt 3 -> short at the bid close 1.1040. TP = EMA 1.1020.
    // ATR_ask: flat TR 0.0010; bar 10 ask 1.1001 .. 1.1046 after a close of 1.1001: TR 0.0045,
    // ATR 0.00275; SL = ask high 1.1046 + 2 * 0.00275 = 1.1101. Bar 11's ask low 1.1011 reaches
    // the TP 1.1020: result (1.1040 - 1.1020) * lots.
    let b = spike_bars();
    let ran = run_mrz(&b, mrz(json!({})));
    let t = only_trade(&ran.out);
    let atr_ask = naive_atr(&b.ask, 2);
    assert_eq!((t.direction, t.entry_time_ns, t.entry_price), (Short, at(10), 1.1040));
    approx(t.stop_loss.unwrap(), b.ask.high[10] + 2.0 * atr_ask[10]);
    approx(t.stop_loss.unwrap(), 1.1101);
    approx(t.take_profit.unwrap(), naive_ema(&b.bid.close, 3)[10]);
    approx(t.take_profit.unwrap(), 1.1020);
    // 100 / (0.0061 * 100,000) -> 0.16 lots; +20 pips = 32
    assert_eq!((t.size, t.reason), (0.16, ExitReason::TakeProfit));
    approx(t.result, 32.0);
}

#[test]
fn direction_filter() {
    let run_with = |b: &Bars, filter: &str| directions(&run_mrz(b, mrz(json!({ "direction_filter": filter }))));
    let (down, up) = (drop_bars(1.0990, SPREAD), spike_bars());
    assert_eq!(run_with(&down, "long"), [Long]);
    assert_eq!(run_with(&down, "both"), [Long]);
    assert_eq!(run_with(&down, "short"), [] as [Direction; 0]);
    assert_eq!(run_with(&up, "short"), [Short]);
    assert_eq!(run_with(&up, "long"), [] as [Direction; 0]);
}

#[test]
fn no_signal_when_the_take_profit_is_not_beyond_the_entry() {
    // Spread 0.0025: the ask close 1.0985 is above the TP (EMA 1.0980): no long.
    let b = drop_bars(1.0990, 0.0025);
    let out = run_mrz(&b, mrz(json!({}))).out;
    assert!(out.trades.is_empty());
    assert_eq!(out.counters.signals, 0);
}

// ------------------------------------------------------------------------------------------
// Scenarios 2 and 3: Kalman-Z plus the close beyond the Bollinger band

#[test]
fn scenario_2_long_by_hand() {
    // Kalman r 1, q 0.1, window 3: the flat closes keep the level at 1.1000 (x += K * 0), so the
    // residuals are 0 until bar 10, where e = (1 - K) * (1.0960 - 1.1000) < 0. The window
    // [0, 0, e] gives z = -sqrt 3 = -1.732 whatever the gain K (as for scenario 1): <= -1.5, long.
    // Bollinger 5 x 1.5 at bar 10 over [1.1 x4, 1.0960]: mid = 1.1 - 0.0040/5 = 1.0992;
    // deviations +0.0008 (x4) and -0.0032, population variance (4 * 0.64 + 10.24)e-6 / 5
    // = 2.56e-6, std 0.0016; lower = 1.0992 - 1.5 * 0.0016 = 1.0968 > close 1.0960: beyond.
    // TP = mid 1.0992 > ask close 1.0961; SL = 1.0955 - 2 * 0.00275 = 1.0900 (ATR as in
    // scenario 1); 0.16 lots. Bar 11's high 1.0995 reaches the TP (open 1.0960 below it): exit
    // 1.0992, result 0.0031 * 16,000 = 49.6. Bar 11 itself signals nothing: its window
    // [1.1 x3, 1.0960, 1.0985] has mid 1.0989 and std sqrt(2.44e-6) = 0.001562, so the lower band
    // 1.09656 is below its close 1.0985.
    let b = drop_bars(1.0995, SPREAD);
    let kz = naive_kalman_z(&b.bid.close, 1.0, 0.1, 3);
    assert!(kz[..10].iter().all(|v| v.is_nan()));
    approx(kz[10], -(3f64.sqrt()));
    let (mid, lower, _) = naive_bollinger(&b.bid.close, 5, 1.5, 10);
    approx(mid, 1.0992);
    approx(lower, 1.0968);
    approx(naive_bollinger(&b.bid.close, 5, 1.5, 11).1, 1.0989 - 1.5 * 2.44e-6f64.sqrt());

    let ran = run_mrz(&b, mrz_bands(&[2], json!({})));
    assert_eq!(ran.first_signal_index, 4); // max(window - 1, atr_length - 1, b_b_length - 1)
    let t = only_trade(&ran.out);
    assert_eq!((t.direction, t.entry_time_ns, t.entry_price, t.scenario_id), (Long, at(10), 1.0961, 2));
    approx(t.stop_loss.unwrap(), 1.0900);
    approx(t.take_profit.unwrap(), 1.0992);
    assert_eq!((t.size, t.reason, t.exit_time_ns), (0.16, ExitReason::TakeProfit, at(11)));
    approx(t.exit_price, 1.0992);
    approx(t.result, 49.6);
    assert_eq!(snapshot_names(t), ["kalman_z", "bb_mid", "ema", "atr"]);
    let values: Vec<f64> = t.snapshot.iter().map(|(_, v)| *v).collect();
    for (got, want) in values.iter().zip([-(3f64.sqrt()), 1.0992, 1.0980, 0.00275]) {
        approx(*got, want);
    }
}

#[test]
fn scenario_2_needs_the_close_beyond_the_band_of_the_population_std() {
    // The drop's close is 0.0032 below the mid 1.0992, i.e. 2 population std (0.0016) below
    // it; with the sample std sqrt(12.8e-6 / 4) = 0.001789 it would be only 1.79 std below.
    // std_factor 1.9: lower = 1.0992 - 1.9 * 0.0016 = 1.09616 > 1.0960, beyond: the trade.
    // std_factor 2.1: lower = 1.09584 < 1.0960, not beyond, and 2.5 (lower 1.0952) even less:
    // the Kalman-Z (-sqrt 3) alone is not enough, no signal on any bar.
    let b = drop_bars(1.0995, SPREAD);
    approx(naive_bollinger(&b.bid.close, 5, 1.9, 10).1, 1.09616);
    approx(naive_bollinger(&b.bid.close, 5, 2.1, 10).1, 1.09584);
    let out = run_mrz(&b, mrz_bands(&[2], json!({"std_factor": 1.9}))).out;
    assert_eq!((only_trade(&out).scenario_id, only_trade(&out).entry_time_ns), (2, at(10)));
    for factor in [2.1, 2.5] {
        let out = run_mrz(&b, mrz_bands(&[2], json!({ "std_factor": factor }))).out;
        assert!(out.trades.is_empty(), "std_factor {factor}");
        assert_eq!(out.counters.signals, 0, "std_factor {factor}");
    }
}

/// Bars 9 and 10 rise to 1.1010 and 1.1040; bar 11 falls back to a low of 1.1005.
fn two_step_spike() -> Bars {
    after_flat(
        9,
        &[[1.1000, 1.1012, 1.0998, 1.1010], [1.1010, 1.1045, 1.1008, 1.1040], [1.1040, 1.1042, 1.1005, 1.1010]],
        SPREAD,
    )
}

#[test]
fn scenario_2_short_depends_on_the_kalman_gain() {
    // Kalman r = q = 1: P0 = 1, P' = P + 1, K = P' / (P' + 1) and P = (1 - K) P' = K, so
    // K_t = (K_{t-1} + 1) / (K_{t-1} + 2) from K_0 = 1: 2/3, 5/8, 13/21, ... = F(2t+1) / F(2t+2)
    // (Fibonacci): K9 = 4181/6765, K10 = 10946/17711 (both ~0.618034). The level is 1.1000 until
    // bar 8; with a = 0.0010, b = 0.0040 the steps of bars 9 and 10:
    //   e9 = (1 - K9) a = 0.000381966, level x9 = 1.1 + K9 a
    //   e10 = (1 - K10) (1.1 + b - x9) = (1 - K10) (b - K9 a) = 0.00129180
    // Window [0, e9, e10]: z9 = sqrt 3 = 1.732 (window [0, 0, e9]); z10 = e10 / s with
    // s = sample std of [0, e9, e10]: 1.946562. With z_score_short 1.94, bar 9 gives no signal
    // (although its close 1.1010 is beyond the band: mid 1.1002, std 0.0004, upper 1.1008) and
    // bar 10 does. Bollinger 5 x 1.5 at bar 10 over [1.1 x3, 1.1010, 1.1040]: mid 1.1010,
    // deviations -0.0010 (x3), 0, +0.0030, population variance 12e-6 / 5 = 2.4e-6, upper
    // 1.1010 + 1.5 * 0.0015492 = 1.1033238 < close 1.1040: beyond -> short at the bid 1.1040.
    // ATR_ask (length 2): TR 0.0010 on the flat bars; bar 9 ask 1.0999 .. 1.1013 after 1.1001:
    // TR 0.0014, ATR 0.0012; bar 10 ask 1.1009 .. 1.1046 after 1.1011: TR 0.0037, ATR 0.00245.
    // SL = 1.1046 + 2 * 0.00245 = 1.1095, TP = mid 1.1010; 100 / (0.0055 * 100,000) -> 0.18
    // lots. Bar 11's ask low 1.1006 reaches the TP (ask open 1.1041 above it): exit 1.1010,
    // result 0.0030 * 18,000 = 54.
    let b = two_step_spike();
    let (k9, k10) = (4181.0 / 6765.0, 10946.0 / 17711.0);
    let (a, step) = (0.0010, 0.0040);
    let (e9, e10) = ((1.0 - k9) * a, (1.0 - k10) * (step - k9 * a));
    let z10 = e10 / (moments(&[0.0, e9, e10]).1 / 2.0).sqrt();
    assert!((z10 - 1.946_562).abs() < 1e-6, "{z10}");
    let kz = naive_kalman_z(&b.bid.close, 1.0, 1.0, 3);
    approx(kz[9], 3f64.sqrt());
    approx(kz[10], z10);
    assert!(kz[11] > -1.5, "no long at bar 11: {}", kz[11]);
    let (mid, _, upper) = naive_bollinger(&b.bid.close, 5, 1.5, 10);
    approx(mid, 1.1010);
    approx(upper, 1.1010 + 1.5 * 2.4e-6f64.sqrt());
    approx(naive_bollinger(&b.bid.close, 5, 1.5, 9).2, 1.1008);

    let params = json!({"kalman_q": 1.0, "z_score_short": 1.94});
    let ran = run_mrz(&b, mrz_bands(&[2], params));
    let t = only_trade(&ran.out);
    assert_eq!((t.direction, t.entry_time_ns, t.entry_price, t.scenario_id), (Short, at(10), 1.1040, 2));
    approx(t.stop_loss.unwrap(), 1.1095);
    approx(t.take_profit.unwrap(), 1.1010);
    assert_eq!((t.size, t.reason, t.exit_time_ns), (0.18, ExitReason::TakeProfit, at(11)));
    approx(t.exit_price, 1.1010);
    approx(t.result, 54.0);
    approx(t.snapshot[0].1, z10);

    // With the example's q 0.1 the gain is lower (~0.27 at steady state), the level lags less
    // far behind bar 9 and z10 = 1.9319 (naive recursion above) < 1.94: no trade at all.
    let slow = naive_kalman_z(&b.bid.close, 1.0, 0.1, 3);
    assert!((slow[10] - 1.931_874).abs() < 1e-6, "{}", slow[10]);
    let out = run_mrz(&b, mrz_bands(&[2], json!({"z_score_short": 1.94}))).out;
    assert!(out.trades.is_empty());
    assert_eq!(out.counters.signals, 0);
}

#[test]
fn scenario_3_takes_profit_at_the_ema_when_it_is_far_enough() {
    // The scenario-2 drop: Kalman-Z -sqrt 3 and the close below the band, as derived above.
    // Scenario 3 aims at the EMA (3) instead: 1.1 + 0.5 * (1.0960 - 1.1) = 1.0980, which is
    // |1.0980 - 1.0961| = 0.0019 from the entry (the ask close).
    // tp_min_distance 0.0010 (the example's) or 0.0018 <= 0.0019: allowed. TP 1.0980, reached by
    // bar 11's high 1.0995: exit 1.0980, result 0.0019 * 16,000 = 30.4.
    let b = drop_bars(1.0995, SPREAD);
    for tp_min in [0.0010, 0.0018] {
        let out = run_mrz(&b, mrz_bands(&[3], json!({ "tp_min_distance": tp_min }))).out;
        let t = only_trade(&out);
        assert_eq!((t.direction, t.entry_time_ns, t.scenario_id), (Long, at(10), 3), "{tp_min}");
        approx(t.take_profit.unwrap(), 1.0980);
        approx(t.stop_loss.unwrap(), 1.0900);
        assert_eq!((t.reason, t.exit_time_ns), (ExitReason::TakeProfit, at(11)));
        approx(t.result, 30.4);
        assert_eq!(snapshot_names(t), ["kalman_z", "bb_mid", "ema", "atr"]);
    }
    // tp_min_distance 0.0020 > 0.0019: scenario 3 is suppressed (bar 11 signals nothing either).
    let out = run_mrz(&b, mrz_bands(&[3], json!({"tp_min_distance": 0.0020}))).out;
    assert!(out.trades.is_empty());
    assert_eq!(out.counters.signals, 0);
    // The distance rule is scenario 3's own: with 2 and 3 enabled, scenario 2 (checked first,
    // TP at the band's mid 1.0992) trades as before.
    let out = run_mrz(&b, mrz_bands(&[3, 2], json!({"tp_min_distance": 0.0020}))).out;
    let t = only_trade(&out);
    assert_eq!(t.scenario_id, 2);
    approx(t.take_profit.unwrap(), 1.0992);
}

#[test]
fn scenario_1_goes_first_when_several_are_enabled() {
    // The drop signals in scenarios 1, 2 and 3 at bar 10; the lowest enabled id is taken.
    let b = drop_bars(1.0995, SPREAD);
    let out = run_mrz(&b, mrz_bands(&[3, 1, 2], json!({}))).out;
    let t = only_trade(&out);
    assert_eq!(t.scenario_id, 1);
    approx(t.take_profit.unwrap(), 1.0980);
    assert_eq!(snapshot_names(t), ["z", "ema", "atr"]);
}

// ------------------------------------------------------------------------------------------
// Synthetic data and parameters

/// `days` days of synthetic M1 from [`t0`].
fn synth_bars(seed: u64, days: i64) -> Bars {
    generate_m1(&SynthSpec::eurusd(t0(), t0() + days * NANOS_PER_DAY, seed))
}

#[test]
fn every_scenario_trades_on_synthetic_data_and_records_its_id() {
    let b = synth_bars(5, 5);
    for scenarios in [vec![2], vec![3], vec![1, 2, 3]] {
        let p = json!({ "enabled_scenarios": scenarios, "z_score_long": -1.5, "z_score_short": 1.5 });
        let out = run_mrz(&b, json!({ "strategy_parameters": p })).out;
        assert!(!out.trades.is_empty(), "scenarios {scenarios:?} produced no trade");
        assert!(out.trades.iter().all(|t| scenarios.contains(&t.scenario_id)), "{scenarios:?}");
        if scenarios.len() == 1 {
            assert_eq!(snapshot_names(&out.trades[0]), ["kalman_z", "bb_mid", "ema", "atr"]);
        }
    }
    assert_eq!(IMPLEMENTED_MRZ_SCENARIOS, [1, 2, 3]);
}

#[test]
fn the_cooldown_is_the_strategys_parameter() {
    let b = drop_bars(1.0990, SPREAD);
    assert_eq!(run_mrz(&b, mrz(json!({}))).cooldown_bars, 0);
    assert_eq!(run_mrz(&b, mrz(json!({"cooldown_bars": 7}))).cooldown_bars, 7);
}

#[test]
fn invalid_parameters_are_config_errors_naming_the_field() {
    let b = drop_bars(1.0990, SPREAD);
    let cases = [
        (json!({"enabled_scenarios": [4]}), "enabled_scenarios"),
        (json!({"enabled_scenarios": [1, 4]}), "enabled_scenarios"),
        (json!({"enabled_scenarios": [6]}), "enabled_scenarios"),
        (json!({"enabled_scenarios": []}), "enabled_scenarios"),
        (json!({"window_length": 1}), "window_length"),
        (json!({"b_b_length": 1}), "b_b_length"),
        (json!({"z_score_long": 0.5}), "z_score_long"),
        (json!({"kalman_q": 0.0}), "kalman_q"),
        (json!({"tp_min_distance": -0.0001}), "tp_min_distance"),
        (json!({"direction_filter": "sideways"}), "direction_filter"),
        (json!({"fast": 2}), "fast"),
    ];
    for (params, field) in cases {
        let overrides = mrz(params.clone());
        let err = run_config(&b, overrides.clone()).err().unwrap_or_else(|| panic!("{params} accepted"));
        assert_eq!((err.kind(), err.code), (ErrorKind::Config, ErrorCode::ConfigStrategyParameter), "{params}");
        let at = err.context.get("field").map(String::as_str).unwrap_or_default();
        assert!(at.starts_with(&format!("strategy_parameters.{field}")), "{params}: {at}");
        assert!(err.to_string().contains(field), "{err}");
        // The preflight check (no data) rejects the same parameters the same way.
        let (name, full) = ("mean_reversion_z_score", &config_json(overrides)["strategy_parameters"]);
        assert_eq!(strategy::check_parameters(name, full).unwrap_err(), err, "{params}");
    }
}
