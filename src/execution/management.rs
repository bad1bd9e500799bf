//! Trade management (step 3 of a bar, docs/execution.md): timeout, break-even and trailing stop. Evaluated on the
//! close of the exit side after the bar's SL/TP check, so a stop moved here is effective
//! from the next bar. Break-even and trailing are measured in R and need an initial stop.

use crate::config::TradeManagement;
use crate::domain::Direction;
use crate::execution::position::{Position, StopLossKind};
use crate::timefmt::NANOS_PER_MINUTE;

#[derive(Debug, Clone)]
pub struct Manager {
    max_holding_ns: Option<i64>,
    break_even: Option<(f64, f64)>,
    trailing: Option<(f64, f64)>,
}

impl Manager {
    pub fn new(tm: &TradeManagement, pip_size: f64) -> Self {
        Self {
            max_holding_ns: tm.max_holding_minutes.map(|m| m * NANOS_PER_MINUTE),
            break_even: tm
                .break_even
                .enabled
                .then_some((tm.break_even.trigger_r, tm.break_even.offset_pips * pip_size)),
            trailing: tm.trailing.enabled.then_some((tm.trailing.activation_r, tm.trailing.distance_pips * pip_size)),
        }
    }

    pub fn is_active(&self) -> bool {
        self.max_holding_ns.is_some() || self.break_even.is_some() || self.trailing.is_some()
    }

    /// True when the position has been held for `max_holding_minutes` at bar open time `now_ns`.
    pub fn timed_out(&self, p: &Position, now_ns: i64) -> bool {
        self.max_holding_ns.is_some_and(|max| now_ns - p.entry_time_ns >= max)
    }

    /// Moves the stop by the break-even and trailing rules, given the close of the exit side.
    /// A stop only ever moves in the position's favour.
    pub fn adjust_stop(&self, p: &mut Position, close: f64) {
        let Some(r) = p.risk_distance() else { return };
        let gained = p.favourable_move(close);
        let s = p.direction.sign();
        if let Some((trigger_r, offset)) = self.break_even {
            if p.stop_loss_kind == StopLossKind::Initial && gained >= trigger_r * r {
                tighten(p, p.entry_price + s * offset, StopLossKind::BreakEven);
            }
        }
        if let Some((activation_r, distance)) = self.trailing {
            if gained >= activation_r * r {
                tighten(p, close - s * distance, StopLossKind::Trailing);
            }
        }
    }
}

fn tighten(p: &mut Position, candidate: f64, kind: StopLossKind) {
    let better = match (p.stop_loss, p.direction) {
        (None, _) => true,
        (Some(sl), Direction::Long) => candidate > sl,
        (Some(sl), Direction::Short) => candidate < sl,
    };
    if better {
        p.stop_loss = Some(candidate);
        p.stop_loss_kind = kind;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BreakEven, Trailing};
    use crate::domain::OrderKind;

    fn long_at(entry: f64, sl: f64) -> Position {
        Position {
            direction: Direction::Long,
            entry_index: 0,
            entry_time_ns: 0,
            entry_kind: OrderKind::Market,
            entry_price: entry,
            size: 1.0,
            stop_loss: Some(sl),
            take_profit: None,
            initial_stop_loss: Some(sl),
            stop_loss_kind: StopLossKind::Initial,
            entry_fee: 0.0,
            initial_risk: None,
            scenario_id: 1,
            snapshot: vec![],
        }
    }

    fn manager(be: bool, trail: bool, max_minutes: Option<i64>) -> Manager {
        let tm = TradeManagement {
            max_holding_minutes: max_minutes,
            break_even: BreakEven { enabled: be, trigger_r: 1.0, offset_pips: 1.0 },
            trailing: Trailing { enabled: trail, activation_r: 2.0, distance_pips: 10.0 },
        };
        Manager::new(&tm, 0.0001)
    }

    #[test]
    fn break_even_moves_stop_to_entry_plus_offset_once_1r_is_reached() {
        let m = manager(true, false, None);
        let mut p = long_at(1.1000, 1.0980); // 1R = 20 pips
        m.adjust_stop(&mut p, 1.1019); // 19 pips: not yet
        assert_eq!(p.stop_loss, Some(1.0980));
        m.adjust_stop(&mut p, 1.1021); // >= 20 pips: stop to 1.1000 + 1 pip
        assert!((p.stop_loss.unwrap() - 1.1001).abs() < 1e-12);
        assert_eq!(p.stop_loss_kind, StopLossKind::BreakEven);
    }

    #[test]
    fn trailing_follows_the_close_and_never_loosens() {
        let m = manager(false, true, None);
        let mut p = long_at(1.1000, 1.0980); // activation at 2R = 40 pips
        m.adjust_stop(&mut p, 1.1030);
        assert_eq!(p.stop_loss_kind, StopLossKind::Initial);
        m.adjust_stop(&mut p, 1.1050); // stop = 1.1050 - 10 pips
        assert!((p.stop_loss.unwrap() - 1.1040).abs() < 1e-12);
        assert_eq!(p.stop_loss_kind, StopLossKind::Trailing);
        m.adjust_stop(&mut p, 1.1045); // 45 pips still active, but 1.1035 < 1.1040: unchanged
        assert!((p.stop_loss.unwrap() - 1.1040).abs() < 1e-12);
        // short mirror
        let mut s = long_at(1.1000, 1.1020);
        s.direction = Direction::Short;
        m.adjust_stop(&mut s, 1.0950); // 50 pips in favour >= 40: stop = 1.0950 + 10 pips
        assert!((s.stop_loss.unwrap() - 1.0960).abs() < 1e-12);
    }

    #[test]
    fn timeout_after_max_holding() {
        let m = manager(false, false, Some(30));
        let p = long_at(1.1, 1.09);
        assert!(!m.timed_out(&p, 29 * NANOS_PER_MINUTE));
        assert!(m.timed_out(&p, 30 * NANOS_PER_MINUTE));
    }
}
