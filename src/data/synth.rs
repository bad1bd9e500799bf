//! Seeded synthetic FX bid/ask bars for tests, benchmarks and the bundled example.
//!
//! Model, per weekday minute: the log mid price takes a Gaussian step whose variance follows a
//! GARCH(1,1) recursion (volatility clustering), scaled by an intraday pattern (quiet Asian
//! hours, busy London/New York overlap, dead rollover); highs and lows reach beyond open/close by
//! a half-normal excursion. The spread widens with volatility and around the 22:00 UTC rollover.
//! Saturday and Sunday have no bars; Monday opens with a small weekend jump.
//!
//! Prices are whole ticks (pip / 10) computed as integers, so every bar satisfies the loader's
//! rules by construction: positive, `low <= open, close <= high` per side, and `bid < ask` on
//! every field (one integer spread of at least one tick per bar). All randomness comes from a
//! counter-based splitmix64 stream keyed by the seed: same seed, same bars, same file bytes.

use std::path::{Path, PathBuf};

use super::parquet::ParquetLayout;
use super::{csv, expected_path, parquet, Format, Side};
use crate::error::{EngineError, Result};
use crate::market::{Bars, Ohlc, Timeframe};
use crate::timefmt::{day_of, minute_of_day, weekday, NANOS_PER_DAY, NANOS_PER_MINUTE};

/// Long-run standard deviation of one-minute log returns (about 6 % a year).
const SIGMA_MINUTE: f64 = 1.0e-4;
const GARCH_ALPHA: f64 = 0.06;
const GARCH_BETA: f64 = 0.93;
/// Keeps simulated volatility within a plausible band around the long-run level.
const SIGMA_BAND: (f64, f64) = (0.25, 6.0);
/// Scale of the high/low excursion beyond open/close, in units of the minute's volatility.
const EXCURSION: f64 = 0.6;
/// Weekend jump standard deviation, in minute volatilities.
const WEEKEND_JUMP: f64 = 8.0;
const BASE_SPREAD_PIPS: f64 = 0.6;
const ROLLOVER_MINUTE: f64 = 22.0 * 60.0;
/// Relative volatility by UTC hour (interpolated linearly within the hour).
const HOURLY_ACTIVITY: [f64; 24] = [
    0.55, 0.5, 0.5, 0.5, 0.55, 0.6, 0.8, 1.2, 1.35, 1.25, 1.1, 1.0, 1.2, 1.45, 1.5, 1.35, 1.15, 0.95, 0.8, 0.7, 0.6,
    0.5, 0.35, 0.45,
];

/// What to generate: minutes in `[start_ns, end_ns)`.
#[derive(Debug, Clone)]
pub struct SynthSpec {
    pub symbol: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub seed: u64,
    pub base_price: f64,
    pub pip_size: f64,
}

/// Starting prices of the shipped symbols, so synthetic data looks like each market (USDJPY
/// near 150, not 1.10); any other symbol starts at 11,000 pips, EURUSD's scale.
const REFERENCE_PRICES: [(&str, f64); 7] = [
    ("EURUSD", 1.10),
    ("GBPUSD", 1.27),
    ("AUDUSD", 0.66),
    ("EURGBP", 0.86),
    ("USDCHF", 0.88),
    ("USDJPY", 150.0),
    ("EURJPY", 162.0),
];

impl SynthSpec {
    /// EURUSD-like: base 1.10, pip 0.0001.
    pub fn eurusd(start_ns: i64, end_ns: i64, seed: u64) -> Self {
        Self::for_symbol("EURUSD", 0.0001, start_ns, end_ns, seed)
    }

    /// `symbol` with its pip size (from its specs), starting at its reference price.
    pub fn for_symbol(symbol: &str, pip_size: f64, start_ns: i64, end_ns: i64, seed: u64) -> Self {
        let base_price =
            REFERENCE_PRICES.iter().find(|(s, _)| *s == symbol).map_or(11_000.0 * pip_size, |(_, price)| *price);
        Self { symbol: symbol.to_string(), start_ns, end_ns, seed, base_price, pip_size }
    }
}

/// Counter-based randomness: draw `i` of a stream depends only on (seed, i).
#[derive(Debug, Clone, Copy)]
struct Stream(u64);

impl Stream {
    fn bits(self, i: u64) -> u64 {
        crate::rng::splitmix64_at(self.0, i)
    }

    /// Uniform in (0, 1].
    fn uniform(self, i: u64) -> f64 {
        ((self.bits(i) >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal from two uniforms (Box-Muller, cosine branch).
    fn normal(self, i: u64) -> f64 {
        let (u1, u2) = (self.uniform(2 * i), self.uniform(2 * i + 1));
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Normal draws used per bar (return, high, low, spread, weekend jump).
const DRAWS_PER_BAR: u64 = 5;

/// One-minute bars on every weekday minute of the spec's range.
pub fn generate_m1(spec: &SynthSpec) -> Bars {
    let first = spec.start_ns.div_euclid(NANOS_PER_MINUTE) * NANOS_PER_MINUTE;
    let first = if first < spec.start_ns { first + NANOS_PER_MINUTE } else { first };
    let minutes = usize::try_from((spec.end_ns - first).max(0) / NANOS_PER_MINUTE).unwrap_or(0);
    let capacity = minutes / 7 * 5 + 1440;
    let mut bars = Bars {
        time_ns: Vec::with_capacity(capacity),
        bid: Ohlc::with_capacity(capacity),
        ask: Ohlc::with_capacity(capacity),
    };

    let ticks_per_unit = (10.0 / spec.pip_size).round();
    let rng = Stream(spec.seed);
    let omega = SIGMA_MINUTE * SIGMA_MINUTE * (1.0 - GARCH_ALPHA - GARCH_BETA);
    let (var_min, var_max) = ((SIGMA_BAND.0 * SIGMA_MINUTE).powi(2), (SIGMA_BAND.1 * SIGMA_MINUTE).powi(2));
    let (mut log_mid, mut var, mut prev_shock) = (spec.base_price.ln(), SIGMA_MINUTE * SIGMA_MINUTE, 0.0);
    let mut bar = 0u64;
    let mut t = first;
    while t < spec.end_ns {
        let day = day_of(t);
        let dow = weekday(day);
        if dow >= 5 {
            t = (day + 7 - i64::from(dow)) * NANOS_PER_DAY;
            continue;
        }
        let z = |j: u64| rng.normal(bar * DRAWS_PER_BAR + j);
        if bars.time_ns.last().is_some_and(|&prev| t - prev > NANOS_PER_MINUTE) {
            log_mid += WEEKEND_JUMP * SIGMA_MINUTE * z(4);
        }
        var = (omega + GARCH_ALPHA * prev_shock * prev_shock + GARCH_BETA * var).clamp(var_min, var_max);
        let sigma = var.sqrt();
        let minute = f64::from(minute_of_day(t));
        let local_sigma = sigma * intraday_activity(minute);
        prev_shock = sigma * z(0);

        let open = log_mid;
        let close = open + local_sigma * z(0);
        let high = open.max(close) + EXCURSION * local_sigma * z(1).abs();
        let low = open.min(close) - EXCURSION * local_sigma * z(2).abs();
        let spread_pips = BASE_SPREAD_PIPS
            * (0.5 + 0.5 * sigma / SIGMA_MINUTE)
            * rollover_widening(minute)
            * (1.0 + 0.15 * z(3).abs());
        let spread_ticks = (spread_pips * 10.0).round().max(1.0);

        let bid_ticks = |log_price: f64| (log_price.exp() * ticks_per_unit - spread_ticks / 2.0).round().max(1.0);
        let [o, h, l, c] = [open, high, low, close].map(bid_ticks);
        bars.time_ns.push(t);
        bars.bid.push(o / ticks_per_unit, h / ticks_per_unit, l / ticks_per_unit, c / ticks_per_unit);
        let ask = |bid: f64| (bid + spread_ticks) / ticks_per_unit;
        bars.ask.push(ask(o), ask(h), ask(l), ask(c));

        log_mid = close;
        bar += 1;
        t += NANOS_PER_MINUTE;
    }
    bars
}

fn intraday_activity(minute_of_day: f64) -> f64 {
    let hour = (minute_of_day / 60.0).floor();
    let frac = minute_of_day / 60.0 - hour;
    let h = hour as usize % 24;
    HOURLY_ACTIVITY[h] * (1.0 - frac) + HOURLY_ACTIVITY[(h + 1) % 24] * frac
}

/// Spreads widen up to 5x within ~15 minutes of the daily rollover.
fn rollover_widening(minute_of_day: f64) -> f64 {
    let d = (minute_of_day - ROLLOVER_MINUTE) / 15.0;
    1.0 + 4.0 * (-d * d).exp()
}

/// Aggregates bars into `tf` buckets aligned on the epoch (so D1 opens at 00:00 UTC, H4 at
/// 00:00, 04:00, ...); each bucket takes its first open, last close, max high and min low per side.
pub fn aggregate(bars: &Bars, tf: Timeframe) -> Bars {
    let step = tf.nanos();
    let mut out = Bars::default();
    let mut i = 0;
    while i < bars.len() {
        let bucket = bars.time_ns[i].div_euclid(step) * step;
        let end = i + bars.time_ns[i..].partition_point(|&t| t < bucket + step);
        out.time_ns.push(bucket);
        fold(&bars.bid, i..end, &mut out.bid);
        fold(&bars.ask, i..end, &mut out.ask);
        i = end;
    }
    out
}

fn fold(side: &Ohlc, rows: std::ops::Range<usize>, out: &mut Ohlc) {
    let high = side.high[rows.clone()].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let low = side.low[rows.clone()].iter().copied().fold(f64::INFINITY, f64::min);
    out.push(side.open[rows.start], high, low, side.close[rows.end - 1]);
}

/// A deterministic tick-volume stand-in: grows with the bar's relative range.
fn volume(side: &Ohlc) -> Vec<f64> {
    side.high.iter().zip(&side.low).zip(&side.close).map(|((h, l), c)| ((h - l) / c * 1e5).round() + 1.0).collect()
}

/// Writes `{root}/{symbol}/{symbol}_{TF}_{BID|ASK}.{csv|parquet}` (each file atomically);
/// returns the bid and ask paths.
pub fn write_dataset(root: &Path, symbol: &str, tf: Timeframe, bars: &Bars, format: Format) -> Result<Vec<PathBuf>> {
    let dir = root.join(symbol);
    std::fs::create_dir_all(&dir).map_err(|e| EngineError::output_io("create directory", &dir, &e))?;
    let mut paths = Vec::with_capacity(2);
    for (side, ohlc) in [(Side::Bid, &bars.bid), (Side::Ask, &bars.ask)] {
        let path = expected_path(root, symbol, tf, side, format);
        let volume = volume(ohlc);
        match format {
            Format::Csv => csv::write_side(&path, &bars.time_ns, ohlc, &volume)?,
            Format::Parquet => parquet::write_side(&path, &bars.time_ns, ohlc, &volume, ParquetLayout::default())?,
        }
        paths.push(path);
    }
    Ok(paths)
}

/// Generates the spec's M1 bars and writes them aggregated to each timeframe, so all timeframes
/// of the dataset agree; returns every written path.
pub fn generate_dataset(
    spec: &SynthSpec,
    root: &Path,
    timeframes: &[Timeframe],
    format: Format,
) -> Result<Vec<PathBuf>> {
    let m1 = generate_m1(spec);
    let mut paths = Vec::new();
    for &tf in timeframes {
        let bars = if tf == Timeframe::M1 { m1.clone() } else { aggregate(&m1, tf) };
        paths.extend(write_dataset(root, &spec.symbol, tf, &bars, format)?);
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timefmt::parse_date;

    fn week(seed: u64) -> Bars {
        let start = parse_date("2025-01-01").unwrap();
        generate_m1(&SynthSpec::eurusd(start, start + 14 * NANOS_PER_DAY, seed))
    }

    #[test]
    fn normals_look_standard() {
        let rng = Stream(7);
        let n = 100_000;
        let draws: Vec<f64> = (0..n).map(|i| rng.normal(i)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02 && (var - 1.0).abs() < 0.03, "mean {mean} var {var}");
    }

    #[test]
    fn weekdays_only_every_minute_and_deterministic() {
        let bars = week(1);
        assert_eq!(bars.len(), 10 * 1440);
        assert!(bars.time_ns.iter().all(|&t| weekday(day_of(t)) < 5));
        assert_eq!(bars, week(1));
        assert_ne!(bars.bid.close, week(2).bid.close);
    }

    #[test]
    fn volatility_clusters() {
        // Absolute returns are autocorrelated under GARCH, unlike an i.i.d. walk.
        let bars = week(3);
        let r: Vec<f64> = bars.bid.close.windows(2).map(|w| (w[1] / w[0]).ln().abs()).collect();
        let mean = r.iter().sum::<f64>() / r.len() as f64;
        let cov = r.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum::<f64>();
        let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
        assert!(cov / var > 0.05, "lag-1 autocorrelation of |r| = {}", cov / var);
    }

    #[test]
    fn aggregation_keeps_open_close_and_extremes() {
        let m1 = week(4);
        let m5 = aggregate(&m1, Timeframe::M5);
        assert_eq!(m5.len(), m1.len() / 5);
        assert_eq!(m5.bid.open[1], m1.bid.open[5]);
        assert_eq!(m5.ask.close[1], m1.ask.close[9]);
        assert_eq!(m5.bid.high[1], m1.bid.high[5..10].iter().copied().fold(0.0, f64::max));
        let d1 = aggregate(&m1, Timeframe::D1);
        assert_eq!(d1.len(), 10);
        assert!(d1.time_ns.iter().all(|t| t % NANOS_PER_DAY == 0));
    }
}
