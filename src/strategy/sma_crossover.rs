//! `sma_crossover`: the textbook fast/slow SMA crossover on the mid close (see
//! `docs/strategies.md`). Both legs are market orders at the signal bar's close.

use serde::Deserialize;

use super::{invalid_parameter, Build, Strategy, StrategyInput};
use crate::domain::{Action, Direction, OrderKind, Signal, Sizing};
use crate::error::Result;
use crate::indicators::sma;
use crate::market::Bars;

const NAME: &str = "sma_crossover";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmaCrossoverParams {
    pub fast: usize,
    pub slow: usize,
    pub allow_short: bool,
    #[serde(deserialize_with = "crate::config::required")]
    pub sl_pips: Option<f64>,
    #[serde(deserialize_with = "crate::config::required")]
    pub tp_pips: Option<f64>,
    pub size_lots: f64,
}

pub struct SmaCrossover {
    fast: Vec<f64>,
    slow: Vec<f64>,
    slow_len: usize,
    allow_short: bool,
    sl_distance: Option<f64>,
    tp_distance: Option<f64>,
    sizing: Sizing,
}

impl Build for SmaCrossover {
    type Params = SmaCrossoverParams;

    fn check(p: &SmaCrossoverParams) -> Result<()> {
        if p.fast == 0 || p.fast >= p.slow {
            return Err(invalid_parameter(NAME, "fast", "must be >= 1 and smaller than `slow`"));
        }
        let positive = |x: f64| x > 0.0 && x.is_finite();
        for (name, value) in [("sl_pips", p.sl_pips), ("tp_pips", p.tp_pips), ("size_lots", Some(p.size_lots))] {
            if value.is_some_and(|x| !positive(x)) {
                return Err(invalid_parameter(NAME, name, "must be a finite number > 0"));
            }
        }
        Ok(())
    }

    fn build(p: SmaCrossoverParams, input: &StrategyInput) -> Result<Self> {
        let pip = input.spec.pip_size;
        let mid = input.bars.mid_close();
        Ok(Self {
            fast: sma(&mid, p.fast),
            slow: sma(&mid, p.slow),
            slow_len: p.slow,
            allow_short: p.allow_short,
            sl_distance: p.sl_pips.map(|x| x * pip),
            tp_distance: p.tp_pips.map(|x| x * pip),
            sizing: if p.sl_pips.is_some() { Sizing::Risk } else { Sizing::Lots(p.size_lots) },
        })
    }
}

impl SmaCrossover {
    fn signal(&self, direction: Direction, bars: &Bars, t: usize) -> Signal {
        let entry = bars.entry_side(direction).close[t];
        let s = direction.sign();
        Signal {
            direction,
            kind: OrderKind::Market,
            entry_price: entry,
            stop_loss: self.sl_distance.map(|d| entry - s * d),
            take_profit: self.tp_distance.map(|d| entry + s * d),
            sizing: self.sizing,
            scenario_id: 0,
            snapshot: vec![("sma_fast".into(), self.fast[t]), ("sma_slow".into(), self.slow[t])],
        }
    }
}

impl Strategy for SmaCrossover {
    /// Both SMAs must exist on t-1 and t.
    fn first_signal_index(&self) -> usize {
        self.slow_len
    }

    #[inline]
    fn decide(&mut self, t: usize, bars: &Bars, position: Option<Direction>) -> Action {
        if t < self.slow_len {
            return Action::Hold;
        }
        let (f0, s0, f1, s1) = (self.fast[t - 1], self.slow[t - 1], self.fast[t], self.slow[t]);
        if f0 < s0 && f1 > s1 {
            match position {
                Some(Direction::Long) => Action::Hold,
                Some(Direction::Short) => Action::Reverse(self.signal(Direction::Long, bars, t)),
                None => Action::Enter(self.signal(Direction::Long, bars, t)),
            }
        } else if f0 > s0 && f1 < s1 {
            match (position, self.allow_short) {
                (Some(Direction::Short), _) => Action::Hold,
                (Some(Direction::Long), true) => Action::Reverse(self.signal(Direction::Short, bars, t)),
                (Some(Direction::Long), false) => Action::Exit,
                (None, true) => Action::Enter(self.signal(Direction::Short, bars, t)),
                (None, false) => Action::Hold,
            }
        } else {
            Action::Hold
        }
    }
}
