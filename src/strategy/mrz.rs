//! `mean_reversion_z_score` (MRZ), scenarios 1-3 (see `docs/strategies.md`). Exits come only
//! from SL/TP and trade management; the strategy never closes a position itself.

use serde::{Deserialize, Deserializer};

use super::{invalid_parameter, Build, Strategy, StrategyInput};
use crate::domain::{Action, Direction, OrderKind, Signal, Sizing, Snapshot};
use crate::error::Result;
use crate::indicators::{bollinger, ema, kalman, residual_zscore, wilder_atr, Bands};
use crate::market::Bars;

const NAME: &str = "mean_reversion_z_score";

/// The scenarios this build implements; any other is a config error, never a run with 0 trades.
pub const IMPLEMENTED_MRZ_SCENARIOS: [u8; 3] = [1, 2, 3];

/// An implemented scenario: 1 z-score of the EMA residual, 2 Kalman-Z + Bollinger (TP at the
/// band's mid), 3 as 2 with TP at the EMA.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct MrzScenario(u8);

impl<'de> Deserialize<'de> for MrzScenario {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let id = u8::deserialize(d)?;
        if IMPLEMENTED_MRZ_SCENARIOS.contains(&id) {
            Ok(MrzScenario(id))
        } else {
            Err(serde::de::Error::custom("scenario not implemented"))
        }
    }
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DirectionFilter {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MrzParams {
    pub window_length: usize,
    pub ema_length: usize,
    pub atr_length: usize,
    pub atr_mult: f64,
    pub z_score_long: f64,
    pub z_score_short: f64,
    pub b_b_length: usize,
    pub std_factor: f64,
    pub kalman_r: f64,
    pub kalman_q: f64,
    pub tp_min_distance: f64,
    pub direction_filter: DirectionFilter,
    pub enabled_scenarios: Vec<MrzScenario>,
    pub cooldown_bars: usize,
}

impl MrzParams {
    /// The invariants the indicators and signals rely on.
    fn invariants(&self) -> Result<()> {
        let lengths = [
            ("window_length", self.window_length, 2),
            ("ema_length", self.ema_length, 1),
            ("atr_length", self.atr_length, 1),
            ("b_b_length", self.b_b_length, 2),
        ];
        for (name, value, min) in lengths {
            if value < min {
                return Err(invalid_parameter(NAME, name, &format!("must be >= {min}")));
            }
        }
        let positive = [
            ("atr_mult", self.atr_mult),
            ("std_factor", self.std_factor),
            ("kalman_r", self.kalman_r),
            ("kalman_q", self.kalman_q),
            ("z_score_short", self.z_score_short),
            ("z_score_long", -self.z_score_long),
        ];
        for (name, value) in positive {
            if !(value > 0.0 && value.is_finite()) {
                return Err(invalid_parameter(
                    NAME,
                    name,
                    "must be a finite number on its side of 0 (z_score_long < 0 < z_score_short, the others > 0)",
                ));
            }
        }
        if !(self.tp_min_distance >= 0.0 && self.tp_min_distance.is_finite()) {
            return Err(invalid_parameter(NAME, "tp_min_distance", "must be finite and >= 0"));
        }
        if self.enabled_scenarios.is_empty() {
            return Err(invalid_parameter(NAME, "enabled_scenarios", "must enable at least one scenario"));
        }
        Ok(())
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
    cooldown_bars: usize,
    first_signal: usize,
}

impl Build for MeanReversionZScore {
    type Params = MrzParams;

    fn check(p: &MrzParams) -> Result<()> {
        p.invariants()
    }

    fn build(p: MrzParams, input: &StrategyInput) -> Result<Self> {
        let mut scenarios: Vec<u8> = p.enabled_scenarios.iter().map(|s| s.0).collect();
        scenarios.sort_unstable();
        scenarios.dedup();
        let (window, ema_len, atr_len, bb_len) = (p.window_length, p.ema_length, p.atr_length, p.b_b_length);
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
            kalman_z: uses_kalman.then(|| kalman(close, p.kalman_r, p.kalman_q, window).z),
            bands: uses_kalman.then(|| bollinger(close, bb_len, p.std_factor)),
            atr_bid: wilder_atr(&bars.bid.high, &bars.bid.low, close, atr_len),
            atr_ask: wilder_atr(&bars.ask.high, &bars.ask.low, &bars.ask.close, atr_len),
            ema: ema_series,
        };
        let first_signal = (window - 1).max(atr_len - 1).max(if uses_kalman { bb_len - 1 } else { 0 });
        Ok(Self {
            series,
            scenarios,
            atr_mult: p.atr_mult,
            z_long: p.z_score_long,
            z_short: p.z_score_short,
            tp_min_distance: p.tp_min_distance,
            filter: p.direction_filter,
            cooldown_bars: p.cooldown_bars,
            first_signal,
        })
    }
}

impl MeanReversionZScore {
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

    /// Long is checked first (docs/strategies.md); NaN thresholds compare false, so undefined z gives none.
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
        let mut snapshot: Snapshot = values.iter().map(|&(k, v)| (k.into(), v)).collect();
        snapshot.push(("atr".into(), atr));
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
    bars.entry_side(d).close[t]
}

impl Strategy for MeanReversionZScore {
    fn first_signal_index(&self) -> usize {
        self.first_signal
    }

    fn cooldown_bars(&self) -> usize {
        self.cooldown_bars
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
