//! Position sizing: risk-based or fixed lots, quantised to the symbol's volume step.

use crate::domain::{Direction, Sizing};
use crate::specs::SymbolSpec;

/// Why an entry got no position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The stop is on the wrong side of the fill or missing for risk sizing.
    InvalidStop,
    /// The take profit is not beyond the fill in the trade's favour (it would exit at a loss).
    InvalidTakeProfit,
    /// The stop is closer than `min_sl_distance_pips`.
    StopTooClose,
    /// The size floored to the volume step is below `volume_min`.
    BelowVolumeMin,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::InvalidStop => "invalid_stop",
            Rejection::InvalidTakeProfit => "invalid_take_profit",
            Rejection::StopTooClose => "stop_too_close",
            Rejection::BelowVolumeMin => "below_volume_min",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizeDecision {
    Accept { lots: f64, clamped: bool },
    Reject(Rejection),
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Sizer {
    risk_per_trade: f64,
    contract_size: f64,
    min_sl_distance: f64,
    volume_min: f64,
    volume_step: f64,
    volume_max: f64,
}

impl Sizer {
    pub fn new(spec: &SymbolSpec, risk_per_trade: f64) -> Self {
        Self {
            risk_per_trade,
            contract_size: spec.contract_size,
            min_sl_distance: spec.min_sl_distance_pips * spec.pip_size,
            volume_min: spec.volume_min,
            volume_step: spec.volume_step,
            volume_max: spec.volume_max,
        }
    }

    /// Lots for an entry filled at `fill` with stop `stop_loss`. `quote_to_account` converts
    /// one unit of quote currency into account currency at the entry bar.
    pub fn size(
        &self,
        sizing: Sizing,
        d: Direction,
        fill: f64,
        stop_loss: Option<f64>,
        quote_to_account: f64,
    ) -> SizeDecision {
        if let Some(sl) = stop_loss {
            let distance = (fill - sl) * d.sign();
            // NaN distances (NaN levels) are invalid too, hence not `distance <= 0.0`.
            if distance.is_nan() || distance <= 0.0 {
                return SizeDecision::Reject(Rejection::InvalidStop);
            }
            if distance < self.min_sl_distance {
                return SizeDecision::Reject(Rejection::StopTooClose);
            }
        }
        match self.raw_lots(sizing, fill, stop_loss, quote_to_account) {
            Some(raw) => self.quantise(raw),
            None => SizeDecision::Reject(Rejection::InvalidStop),
        }
    }

    /// Lots before flooring to the volume step (risk sizing; for a fixed size, the size).
    pub fn raw_lots(&self, sizing: Sizing, fill: f64, stop_loss: Option<f64>, quote_to_account: f64) -> Option<f64> {
        match (sizing, stop_loss) {
            (Sizing::Lots(lots), _) => Some(lots),
            (Sizing::Risk, Some(sl)) => {
                Some(self.risk_per_trade / ((fill - sl).abs() * self.contract_size * quote_to_account))
            }
            (Sizing::Risk, None) => None,
        }
    }

    /// Floors to the volume step (the epsilon absorbs binary noise such as 0.07/0.01 = 6.999..),
    /// rejects below the minimum and clamps to the maximum.
    fn quantise(&self, raw: f64) -> SizeDecision {
        let steps = (raw / self.volume_step + 1e-9).floor();
        let lots = round_to_step(steps * self.volume_step, self.volume_step);
        if lots < self.volume_min - 1e-12 {
            return SizeDecision::Reject(Rejection::BelowVolumeMin);
        }
        if lots > self.volume_max {
            return SizeDecision::Accept { lots: self.volume_max, clamped: true };
        }
        SizeDecision::Accept { lots, clamped: false }
    }
}

/// `InvalidTakeProfit` unless the take profit (if any) lies beyond `fill` in the trade's
/// favour: one on the losing side would fire at once and book a loss as a take profit.
pub fn take_profit_rejection(d: Direction, fill: f64, take_profit: Option<f64>) -> Option<Rejection> {
    let in_favour = |tp: f64| (tp - fill) * d.sign() > 0.0; // false for a NaN level too
    take_profit.filter(|&tp| !in_favour(tp)).map(|_| Rejection::InvalidTakeProfit)
}

/// Removes float noise (0.1 * 3 = 0.30000000000000004) by rounding to the step's decimals.
fn round_to_step(x: f64, step: f64) -> f64 {
    let decimals = (-step.log10()).ceil().max(0.0) as i32 + 2;
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizer() -> Sizer {
        Sizer::new(&crate::specs::resolve("EURUSD").unwrap().symbol, 100.0)
    }

    fn lots(d: SizeDecision) -> f64 {
        match d {
            SizeDecision::Accept { lots, .. } => lots,
            other => panic!("expected a size, got {other:?}"),
        }
    }

    #[test]
    fn risk_sizing_floors_to_the_step() {
        // 100 EUR risk, SL 20 pips = 0.0020, USD account: 100 / (0.0020 * 100000) = 0.5 lots
        assert_eq!(lots(sizer().size(Sizing::Risk, Direction::Long, 1.1, Some(1.098), 1.0)), 0.5);
        // SL 30 pips: 100 / 3 / 100 = 0.3333.. -> floored to 0.33
        assert_eq!(lots(sizer().size(Sizing::Risk, Direction::Long, 1.1, Some(1.097), 1.0)), 0.33);
        // short: SL above
        assert_eq!(lots(sizer().size(Sizing::Risk, Direction::Short, 1.1, Some(1.103), 1.0)), 0.33);
        // EUR account on EURUSD: rate 1/1.1 -> 100 / (0.002 * 100000 / 1.1) = 0.55
        assert_eq!(lots(sizer().size(Sizing::Risk, Direction::Long, 1.1, Some(1.098), 1.0 / 1.1)), 0.55);
        // exactly representable boundary: 0.07 must not become 0.06
        assert_eq!(lots(sizer().size(Sizing::Lots(0.07), Direction::Long, 1.1, None, 1.0)), 0.07);
    }

    #[test]
    fn take_profit_must_lie_in_the_trades_favour() {
        let tp = |d, level| take_profit_rejection(d, 1.1, level);
        assert_eq!(tp(Direction::Long, None), None);
        assert_eq!(tp(Direction::Long, Some(1.1010)), None);
        assert_eq!(tp(Direction::Short, Some(1.0990)), None);
        for (d, level) in [(Direction::Long, 1.0990), (Direction::Long, 1.1), (Direction::Short, 1.1010)] {
            assert_eq!(tp(d, Some(level)), Some(Rejection::InvalidTakeProfit), "{d:?} {level}");
        }
        assert_eq!(tp(Direction::Short, Some(f64::NAN)), Some(Rejection::InvalidTakeProfit));
    }

    #[test]
    fn rejections_and_clamps() {
        let s = sizer();
        assert_eq!(
            s.size(Sizing::Risk, Direction::Long, 1.1, Some(1.1005), 1.0),
            SizeDecision::Reject(Rejection::InvalidStop)
        );
        assert_eq!(
            s.size(Sizing::Risk, Direction::Short, 1.1, Some(1.0995), 1.0),
            SizeDecision::Reject(Rejection::InvalidStop)
        );
        assert_eq!(s.size(Sizing::Risk, Direction::Long, 1.1, None, 1.0), SizeDecision::Reject(Rejection::InvalidStop));
        // 0.05 pips < 0.1 pips minimum distance
        assert_eq!(
            s.size(Sizing::Risk, Direction::Long, 1.1, Some(1.1 - 0.000005), 1.0),
            SizeDecision::Reject(Rejection::StopTooClose)
        );
        // 100 / (0.5 * 100000) = 0.002 lots < 0.01
        assert_eq!(
            s.size(Sizing::Risk, Direction::Long, 1.1, Some(0.6), 1.0),
            SizeDecision::Reject(Rejection::BelowVolumeMin)
        );
        // 100 / (0.2 pips * 100000) = 50 lots: within bounds
        assert_eq!(
            s.size(Sizing::Risk, Direction::Long, 1.1, Some(1.1 - 0.00002), 1.0),
            SizeDecision::Accept { lots: 50.0, clamped: false }
        );
        // 500 fixed lots -> clamped to volume_max 200
        assert_eq!(
            s.size(Sizing::Lots(500.0), Direction::Long, 1.1, None, 1.0),
            SizeDecision::Accept { lots: 200.0, clamped: true }
        );
    }
}
