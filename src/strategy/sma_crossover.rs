//! `sma_crossover`: the textbook fast/slow SMA crossover on the mid close (SPEC 5).

use super::{Action, OrderKind, Signal, Sizing, Strategy, StrategyInput};
use crate::error::Result;
use crate::indicators::sma;
use crate::market::{Bars, Direction};

pub struct SmaCrossover {
    fast: Vec<f64>,
    slow: Vec<f64>,
    slow_len: usize,
    allow_short: bool,
    sl_distance: Option<f64>,
    tp_distance: Option<f64>,
    sizing: Sizing,
}

impl SmaCrossover {
    pub fn build(input: &StrategyInput) -> Result<Self> {
        let p = &input.params;
        let (fast_len, slow_len) = (p.usize("fast", 20)?, p.usize("slow", 50)?);
        if fast_len == 0 {
            return Err(p.invalid("fast", "must be >= 1"));
        }
        if fast_len >= slow_len {
            return Err(p.invalid("fast", "must be smaller than `slow`"));
        }
        let pip = input.spec.pip_size;
        let sl_pips = p.opt_f64("sl_pips")?;
        let size_lots = p.f64("size_lots", 1.0)?;
        if size_lots <= 0.0 {
            return Err(p.invalid("size_lots", "must be > 0"));
        }
        let mid = input.bars.mid_close();
        Ok(Self {
            fast: sma(&mid, fast_len),
            slow: sma(&mid, slow_len),
            slow_len,
            allow_short: p.bool("allow_short", true)?,
            sl_distance: sl_pips.map(|x| x * pip),
            tp_distance: p.opt_f64("tp_pips")?.map(|x| x * pip),
            sizing: if sl_pips.is_some() { Sizing::Risk } else { Sizing::Lots(size_lots) },
        })
    }

    fn signal(&self, direction: Direction, bars: &Bars, t: usize) -> Signal {
        let entry = match direction {
            Direction::Long => bars.ask.close[t],
            Direction::Short => bars.bid.close[t],
        };
        let s = direction.sign();
        Signal {
            direction,
            kind: OrderKind::Market,
            entry_price: entry,
            stop_loss: self.sl_distance.map(|d| entry - s * d),
            take_profit: self.tp_distance.map(|d| entry + s * d),
            sizing: self.sizing,
            scenario_id: 0,
            snapshot: vec![("sma_fast", self.fast[t]), ("sma_slow", self.slow[t])],
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
