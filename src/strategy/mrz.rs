//! `mean_reversion_z_score` (MRZ), scenarios 1-3 of SPEC 5. Exits come only from SL/TP and
//! trade management; the strategy never closes a position itself.

use super::{Action, OrderKind, Signal, Sizing, Strategy, StrategyInput};
use crate::error::Result;
use crate::indicators::{bollinger, ema, kalman, residual_zscore, wilder_atr, Bands};
use crate::market::{Bars, Direction};

const IMPLEMENTED_SCENARIOS: [usize; 3] = [1, 2, 3];

#[derive(Clone, Copy, PartialEq, Eq)]
enum DirectionFilter {
    Long,
    Short,
    Both,
}

impl DirectionFilter {
    fn allows(self, d: Direction) -> bool {
        matches!(
            (self, d),
            (DirectionFilter::Both, _)
                | (DirectionFilter::Long, Direction::Long)
                | (DirectionFilter::Short, Direction::Short)
        )
    }
}

/// Indicators shared by the scenarios; each is computed once, only if a scenario needs it.
struct Series {
    ema: Vec<f64>,
    z: Option<Vec<f64>>,
    kalman_z: Option<Vec<f64>>,
    bands: Option<Bands>,
    atr_bid: Vec<f64>,
    atr_ask: Vec<f64>,
}

pub struct MeanReversionZScore {
    series: Series,
    scenarios: Vec<u8>,
    atr_mult: f64,
    z_long: f64,
    z_short: f64,
    tp_min_distance: f64,
    filter: DirectionFilter,
    first_signal: usize,
}

impl MeanReversionZScore {
    pub fn build(input: &StrategyInput) -> Result<Self> {
        let p = &input.params;
        let window = p.usize("window_length", 20)?;
        let ema_len = p.usize("ema_length", 20)?;
        let atr_len = p.usize("atr_length", 14)?;
        let bb_len = p.usize("b_b_length", 20)?;
        for (name, v, min) in [
            ("window_length", window, 2),
            ("ema_length", ema_len, 1),
            ("atr_length", atr_len, 1),
            ("b_b_length", bb_len, 2),
        ] {
            if v < min {
                return Err(p.invalid(name, &format!("must be >= {min}")));
            }
        }
        let z_long = p.f64("z_score_long", -2.0)?;
        let z_short = p.f64("z_score_short", 2.0)?;
        if z_long >= 0.0 {
            return Err(p.invalid("z_score_long", "must be < 0"));
        }
        if z_short <= 0.0 {
            return Err(p.invalid("z_score_short", "must be > 0"));
        }
        let filter = match p.str("direction_filter", "both")? {
            "long" => DirectionFilter::Long,
            "short" => DirectionFilter::Short,
            "both" => DirectionFilter::Both,
            _ => return Err(p.invalid("direction_filter", "must be one of long, short, both")),
        };
        let mut scenarios = p.usize_list("enabled_scenarios", &[1])?;
        scenarios.sort_unstable();
        scenarios.dedup();
        if scenarios.is_empty() {
            return Err(p.invalid("enabled_scenarios", "must enable at least one scenario"));
        }
        if let Some(s) = scenarios.iter().find(|s| !IMPLEMENTED_SCENARIOS.contains(s)) {
            return Err(p.invalid(
                "enabled_scenarios",
                &format!("enables scenario {s}, which is not implemented yet (implemented: 1, 2, 3)"),
            ));
        }
        let (kalman_r, kalman_q) = (p.f64("kalman_r", 1.0)?, p.f64("kalman_q", 0.1)?);
        let (std_factor, atr_mult) = (p.f64("std_factor", 2.0)?, p.f64("atr_mult", 2.0)?);
        let tp_min_distance = p.f64("tp_min_distance", 0.0010)?;
        for (name, v) in
            [("kalman_r", kalman_r), ("kalman_q", kalman_q), ("std_factor", std_factor), ("atr_mult", atr_mult)]
        {
            if v <= 0.0 {
                return Err(p.invalid(name, "must be > 0"));
            }
        }
        if tp_min_distance < 0.0 {
            return Err(p.invalid("tp_min_distance", "must be >= 0"));
        }

        let bars = input.bars;
        let close = &bars.bid.close;
        let ema_series = ema(close, ema_len);
        let uses_kalman = scenarios.iter().any(|s| *s >= 2);
        let z = scenarios.contains(&1).then(|| {
            let residual: Vec<f64> = close.iter().zip(&ema_series).map(|(c, e)| c - e).collect();
            residual_zscore(&residual, window)
        });
        let series = Series {
            z,
            kalman_z: uses_kalman.then(|| kalman(close, kalman_r, kalman_q, window).z),
            bands: uses_kalman.then(|| bollinger(close, bb_len, std_factor)),
            atr_bid: wilder_atr(&bars.bid.high, &bars.bid.low, close, atr_len),
            atr_ask: wilder_atr(&bars.ask.high, &bars.ask.low, &bars.ask.close, atr_len),
            ema: ema_series,
        };
        let first_signal = (window - 1).max(atr_len - 1).max(if uses_kalman { bb_len - 1 } else { 0 });
        Ok(Self {
            series,
            scenarios: scenarios.into_iter().map(|s| s as u8).collect(),
            atr_mult,
            z_long,
            z_short,
            tp_min_distance,
            filter,
            first_signal,
        })
    }

    /// Scenario 1: z-score of the close's residual to the EMA; TP at the EMA.
    fn scenario_1(&self, t: usize, bars: &Bars) -> Option<Signal> {
        let z = self.series.z.as_ref()?[t];
        let d = self.direction_for(z)?;
        self.signal(1, d, t, bars, self.series.ema[t], &[("z", z), ("ema", self.series.ema[t])])
    }

    /// Scenarios 2 and 3: Kalman-Z plus the close beyond the Bollinger band; TP at the band's
    /// mid (2) or at the EMA when it is at least `tp_min_distance` away (3).
    fn scenario_2_or_3(&self, id: u8, t: usize, bars: &Bars) -> Option<Signal> {
        let (kz, bands) = (self.series.kalman_z.as_ref()?[t], self.series.bands.as_ref()?);
        let d = self.direction_for(kz)?;
        let close = bars.bid.close[t];
        let beyond = match d {
            Direction::Long => close < bands.lower[t],
            Direction::Short => close > bands.upper[t],
        };
        if !beyond {
            return None;
        }
        let tp = if id == 2 { bands.mid[t] } else { self.series.ema[t] };
        if id == 3 && (tp.is_nan() || (tp - entry_price(d, t, bars)).abs() < self.tp_min_distance) {
            return None;
        }
        self.signal(id, d, t, bars, tp, &[("kalman_z", kz), ("bb_mid", bands.mid[t]), ("ema", self.series.ema[t])])
    }

    /// Long is checked first (SPEC 5); NaN thresholds compare false, so undefined z gives none.
    fn direction_for(&self, z: f64) -> Option<Direction> {
        let d = if z <= self.z_long {
            Direction::Long
        } else if z >= self.z_short {
            Direction::Short
        } else {
            return None;
        };
        self.filter.allows(d).then_some(d)
    }

    fn signal(
        &self,
        id: u8,
        d: Direction,
        t: usize,
        bars: &Bars,
        tp: f64,
        values: &[(&'static str, f64)],
    ) -> Option<Signal> {
        let entry = entry_price(d, t, bars);
        let (sl, atr) = match d {
            Direction::Long => (bars.bid.low[t] - self.atr_mult * self.series.atr_bid[t], self.series.atr_bid[t]),
            Direction::Short => (bars.ask.high[t] + self.atr_mult * self.series.atr_ask[t], self.series.atr_ask[t]),
        };
        // TP must lie on the profitable side; NaN anywhere fails these comparisons.
        let tp_ok = match d {
            Direction::Long => tp > entry,
            Direction::Short => tp < entry,
        };
        if !tp_ok || !sl.is_finite() {
            return None;
        }
        let mut snapshot = values.to_vec();
        snapshot.push(("atr", atr));
        Some(Signal {
            direction: d,
            kind: OrderKind::Market,
            entry_price: entry,
            stop_loss: Some(sl),
            take_profit: Some(tp),
            sizing: Sizing::Risk,
            scenario_id: id,
            snapshot,
        })
    }
}

fn entry_price(d: Direction, t: usize, bars: &Bars) -> f64 {
    match d {
        Direction::Long => bars.ask.close[t],
        Direction::Short => bars.bid.close[t],
    }
}

impl Strategy for MeanReversionZScore {
    fn first_signal_index(&self) -> usize {
        self.first_signal
    }

    #[inline]
    fn decide(&mut self, t: usize, bars: &Bars, position: Option<Direction>) -> Action {
        if position.is_some() || t < self.first_signal {
            return Action::Hold;
        }
        self.scenarios
            .iter()
            .find_map(|&id| if id == 1 { self.scenario_1(t, bars) } else { self.scenario_2_or_3(id, t, bars) })
            .map_or(Action::Hold, Action::Enter)
    }
}
