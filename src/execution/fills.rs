//! Trigger and fill rules (docs/execution.md): pending limit/stop entries (gap-aware, never better than
//! possible) and SL/TP exits on the exit side with the pip buffer and the SL-wins tie-break.
//! Prices returned here are before slippage.

use crate::domain::{Direction, OrderKind};
use crate::market::Bars;

/// Entry price of a pending order if it triggers in bar `t`, before slippage.
/// Long orders trade on the ask, short orders on the bid.
pub fn pending_fill(kind: OrderKind, d: Direction, entry: f64, bars: &Bars, t: usize) -> Option<f64> {
    let (ask, bid) = (&bars.ask, &bars.bid);
    match (kind, d) {
        // A limit gets the open only when the bar opened already through the limit.
        (OrderKind::Limit, Direction::Long) => (ask.low[t] <= entry).then(|| entry.min(ask.open[t])),
        (OrderKind::Limit, Direction::Short) => (bid.high[t] >= entry).then(|| entry.max(bid.open[t])),
        // A stop fills at the worse of its level and the open (a gap through the level).
        (OrderKind::Stop, Direction::Long) => (ask.high[t] >= entry).then(|| entry.max(ask.open[t])),
        (OrderKind::Stop, Direction::Short) => (bid.low[t] <= entry).then(|| entry.min(bid.open[t])),
        (OrderKind::Market, _) => None,
    }
}

/// Which exit level a position hit in bar `t`, with its price before slippage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExitHit {
    StopLoss(f64),
    TakeProfit(f64),
}

/// Where the position stands relative to its entry bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryBar {
    /// A later bar: both levels live, gaps at the open honoured.
    No,
    /// The trigger bar of a limit/stop entry: the position did not exist at the open, so exits
    /// fill at their level; a limit entry's TP counts only if the bar closes beyond it.
    Trigger { limit_entry: bool },
}

/// SL/TP check (docs/execution.md). `buffer = pip_size * pip_buffer_factor`: either level counts as hit
/// once price comes within the buffer of it (long SL: `low <= sl + buffer`, long TP:
/// `high >= tp - buffer`), and fills at the level. Both hit in one bar: the SL wins.
pub fn exit_hit(
    d: Direction,
    stop_loss: Option<f64>,
    take_profit: Option<f64>,
    buffer: f64,
    bars: &Bars,
    t: usize,
    entry_bar: EntryBar,
) -> Option<ExitHit> {
    // Longs exit on the bid, shorts on the ask.
    let side = match d {
        Direction::Long => &bars.bid,
        Direction::Short => &bars.ask,
    };
    let (open, high, low, close) = (side.open[t], side.high[t], side.low[t], side.close[t]);
    let gap_open = matches!(entry_bar, EntryBar::No).then_some(open);
    let s = d.sign();
    if let Some(sl) = stop_loss {
        // long: low <= sl + buffer; short: high >= sl - buffer
        let extreme = if s > 0.0 { low } else { high };
        if (extreme - sl) * s <= buffer {
            // opened beyond the stop: the open is the first price available, worse than sl
            let price = gap_open.filter(|o| (o - sl) * s < 0.0).unwrap_or(sl);
            return Some(ExitHit::StopLoss(price));
        }
    }
    if let Some(tp) = take_profit {
        let extreme = if s > 0.0 { high } else { low };
        let reached = (tp - extreme) * s <= buffer;
        let close_beyond = (tp - close) * s <= buffer;
        let allowed = match entry_bar {
            EntryBar::Trigger { limit_entry: true } => close_beyond,
            _ => true,
        };
        if reached && allowed {
            let price = gap_open.filter(|o| (o - tp) * s > 0.0).unwrap_or(tp);
            return Some(ExitHit::TakeProfit(price));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Ohlc;

    /// One bar with the given bid OHLC and the ask 1 pip above on every field.
    fn bar(o: f64, h: f64, l: f64, c: f64) -> Bars {
        let mut bid = Ohlc::default();
        bid.push(o, h, l, c);
        let mut ask = Ohlc::default();
        ask.push(o + 0.0001, h + 0.0001, l + 0.0001, c + 0.0001);
        Bars { time_ns: vec![0], bid, ask }
    }

    const BUF: f64 = 0.00005; // 0.5 pip

    #[test]
    fn limit_entries_never_fill_worse_than_the_limit() {
        // ask: o 1.1001 h 1.1021 l 1.0991 c 1.1011
        let b = bar(1.1000, 1.1020, 1.0990, 1.1010);
        assert_eq!(pending_fill(OrderKind::Limit, Direction::Long, 1.0995, &b, 0), Some(1.0995));
        assert_eq!(pending_fill(OrderKind::Limit, Direction::Long, 1.0990, &b, 0), None); // ask.low 1.0991 > 1.0990
                                                                                          // gap: the ask opened below the limit -> the better open
        assert_eq!(pending_fill(OrderKind::Limit, Direction::Long, 1.1005, &b, 0), Some(b.ask.open[0]));
        // short limit on the bid high
        assert_eq!(pending_fill(OrderKind::Limit, Direction::Short, 1.1015, &b, 0), Some(1.1015));
        assert_eq!(pending_fill(OrderKind::Limit, Direction::Short, 1.0995, &b, 0), Some(1.1000)); // opened above
        assert_eq!(pending_fill(OrderKind::Limit, Direction::Short, 1.1021, &b, 0), None);
    }

    #[test]
    fn stop_entries_fill_at_the_worse_of_level_and_open() {
        let b = bar(1.1000, 1.1020, 1.0990, 1.1010);
        assert_eq!(pending_fill(OrderKind::Stop, Direction::Long, 1.1015, &b, 0), Some(1.1015));
        assert_eq!(pending_fill(OrderKind::Stop, Direction::Long, 1.0995, &b, 0), Some(b.ask.open[0])); // gap above the stop
        assert_eq!(pending_fill(OrderKind::Stop, Direction::Long, 1.1022, &b, 0), None);
        assert_eq!(pending_fill(OrderKind::Stop, Direction::Short, 1.0995, &b, 0), Some(1.0995));
        assert_eq!(pending_fill(OrderKind::Stop, Direction::Short, 1.1005, &b, 0), Some(1.1000)); // gap below
        assert_eq!(pending_fill(OrderKind::Stop, Direction::Short, 1.0989, &b, 0), None);
    }

    #[test]
    fn long_exits_on_the_bid_with_buffer() {
        let b = bar(1.1000, 1.1020, 1.0990, 1.1010);
        // SL at 1.09896: low 1.0990 <= 1.09896 + 0.00005 -> hit within the buffer, price = level
        assert_eq!(
            exit_hit(Direction::Long, Some(1.09896), None, BUF, &b, 0, EntryBar::No),
            Some(ExitHit::StopLoss(1.09896))
        );
        // buffer 0: the same stop is not hit
        assert_eq!(exit_hit(Direction::Long, Some(1.09896), None, 0.0, &b, 0, EntryBar::No), None);
        // TP at 1.10204: high 1.1020 >= 1.10204 - 0.00005 -> hit
        assert_eq!(
            exit_hit(Direction::Long, None, Some(1.10204), BUF, &b, 0, EntryBar::No),
            Some(ExitHit::TakeProfit(1.10204))
        );
        assert_eq!(exit_hit(Direction::Long, None, Some(1.10204), 0.0, &b, 0, EntryBar::No), None);
        // both in one bar: SL wins
        assert_eq!(
            exit_hit(Direction::Long, Some(1.0995), Some(1.1015), 0.0, &b, 0, EntryBar::No),
            Some(ExitHit::StopLoss(1.0995))
        );
    }

    #[test]
    fn short_exits_on_the_ask_with_buffer() {
        // ask: o 1.1001 h 1.1021 l 1.0991 c 1.1011
        let b = bar(1.1000, 1.1020, 1.0990, 1.1010);
        assert_eq!(
            exit_hit(Direction::Short, Some(1.10214), None, BUF, &b, 0, EntryBar::No),
            Some(ExitHit::StopLoss(1.10214))
        );
        assert_eq!(exit_hit(Direction::Short, Some(1.10214), None, 0.0, &b, 0, EntryBar::No), None);
        assert_eq!(
            exit_hit(Direction::Short, None, Some(1.09906), BUF, &b, 0, EntryBar::No),
            Some(ExitHit::TakeProfit(1.09906))
        );
        assert_eq!(exit_hit(Direction::Short, None, Some(1.09906), 0.0, &b, 0, EntryBar::No), None);
        assert_eq!(
            exit_hit(Direction::Short, Some(1.1015), Some(1.0995), 0.0, &b, 0, EntryBar::No),
            Some(ExitHit::StopLoss(1.1015))
        );
    }

    #[test]
    fn gaps_fill_at_the_open() {
        let b = bar(1.1000, 1.1020, 1.0990, 1.1010);
        // long SL 1.1005 above the bid open 1.1000: the bar opened through the stop
        assert_eq!(
            exit_hit(Direction::Long, Some(1.1005), None, 0.0, &b, 0, EntryBar::No),
            Some(ExitHit::StopLoss(1.1000))
        );
        // long TP 1.0995 below the open: filled at the better open
        assert_eq!(
            exit_hit(Direction::Long, None, Some(1.0995), 0.0, &b, 0, EntryBar::No),
            Some(ExitHit::TakeProfit(1.1000))
        );
        // short SL 1.0995 below the ask open 1.1001 -> 1.1001
        assert_eq!(
            exit_hit(Direction::Short, Some(1.0995), None, 0.0, &b, 0, EntryBar::No),
            Some(ExitHit::StopLoss(b.ask.open[0]))
        );
        // short TP 1.1008 above the ask open -> the better open 1.1001
        assert_eq!(
            exit_hit(Direction::Short, None, Some(1.1008), 0.0, &b, 0, EntryBar::No),
            Some(ExitHit::TakeProfit(b.ask.open[0]))
        );
        // in a trigger bar the position did not exist at the open: the level is used
        let trig = EntryBar::Trigger { limit_entry: false };
        assert_eq!(exit_hit(Direction::Long, Some(1.1005), None, 0.0, &b, 0, trig), Some(ExitHit::StopLoss(1.1005)));
    }

    #[test]
    fn limit_entry_tp_in_trigger_bar_needs_close_beyond() {
        // bid high 1.1020, close 1.1010
        let b = bar(1.1000, 1.1020, 1.0990, 1.1010);
        let limit = EntryBar::Trigger { limit_entry: true };
        assert_eq!(exit_hit(Direction::Long, None, Some(1.1015), 0.0, &b, 0, limit), None); // close below TP
        assert_eq!(exit_hit(Direction::Long, None, Some(1.1008), 0.0, &b, 0, limit), Some(ExitHit::TakeProfit(1.1008)));
        // a stop entry's TP may hit on the high in the trigger bar
        let stop = EntryBar::Trigger { limit_entry: false };
        assert_eq!(exit_hit(Direction::Long, None, Some(1.1015), 0.0, &b, 0, stop), Some(ExitHit::TakeProfit(1.1015)));
        // short limit: ask low 1.0991, ask close 1.1011
        assert_eq!(exit_hit(Direction::Short, None, Some(1.0995), 0.0, &b, 0, limit), None);
        assert_eq!(
            exit_hit(Direction::Short, None, Some(1.1012), 0.0, &b, 0, limit),
            Some(ExitHit::TakeProfit(1.1012))
        );
    }
}
