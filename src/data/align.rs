//! Bid/ask alignment: inner join on timestamps, warmup trimming and the bid <= ask check.

use super::messages::{price, Origin};
use super::side::{columns_mut, SideData};
use super::{Alignment, WarmupShortfall};
use crate::error::{EngineError, ErrorCode, Result};
use crate::market::{Bars, Ohlc};
use crate::timefmt::format_iso;

/// Joins the sides on equal timestamps and keeps at most `warmup_bars` joined bars before
/// `start_ns`. When both sides carry the same timestamps (the normal case) the columns are moved,
/// not copied. Alignment counts cover rows at or after `start_ns`.
pub(crate) fn align(
    bid: SideData,
    ask: SideData,
    start_ns: i64,
    warmup_bars: usize,
) -> (Bars, Alignment, WarmupShortfall) {
    let in_range = |t: &[i64]| t.len() - t.partition_point(|&x| x < start_ns);
    let (bid_rows, ask_rows) = (in_range(&bid.time_ns), in_range(&ask.time_ns));
    let (bars, warmup) = if bid.time_ns == ask.time_ns {
        let mut bars = Bars { time_ns: bid.time_ns, bid: bid.ohlc, ask: ask.ohlc };
        let warmup = trim_warmup(&mut bars, start_ns, warmup_bars);
        (bars, warmup)
    } else {
        merge(&bid, &ask, start_ns, warmup_bars)
    };
    let aligned_rows = bars.len() - warmup.available_bars;
    let alignment = Alignment {
        bid_rows,
        ask_rows,
        aligned_rows,
        dropped_bid_only: bid_rows - aligned_rows,
        dropped_ask_only: ask_rows - aligned_rows,
    };
    (bars, alignment, warmup)
}

/// Index pairs of equal timestamps in two sorted series.
fn matches<'a>(a: &'a [i64], b: &'a [i64]) -> impl Iterator<Item = (usize, usize)> + 'a {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        while i < a.len() && j < b.len() {
            let (ta, tb) = (a[i], b[j]);
            i += usize::from(ta <= tb);
            j += usize::from(tb <= ta);
            if ta == tb {
                return Some((i - 1, j - 1));
            }
        }
        None
    })
}

/// Copies the joined rows, skipping warmup bars beyond the requested number.
fn merge(bid: &SideData, ask: &SideData, start_ns: i64, warmup_bars: usize) -> (Bars, WarmupShortfall) {
    let before = matches(&bid.time_ns, &ask.time_ns).take_while(|&(i, _)| bid.time_ns[i] < start_ns).count();
    let skip = before.saturating_sub(warmup_bars);
    let capacity = bid.time_ns.len().min(ask.time_ns.len());
    let mut bars = Bars {
        time_ns: Vec::with_capacity(capacity),
        bid: Ohlc::with_capacity(capacity),
        ask: Ohlc::with_capacity(capacity),
    };
    let push = |out: &mut Ohlc, from: &Ohlc, i: usize| out.push(from.open[i], from.high[i], from.low[i], from.close[i]);
    for (i, j) in matches(&bid.time_ns, &ask.time_ns).skip(skip) {
        bars.time_ns.push(bid.time_ns[i]);
        push(&mut bars.bid, &bid.ohlc, i);
        push(&mut bars.ask, &ask.ohlc, j);
    }
    (bars, shortfall(warmup_bars, before - skip))
}

/// Keeps at most `warmup_bars` bars before `start_ns`. Readers keep no more than that per side
/// on a first pass, so this only moves data after a widened retry.
fn trim_warmup(bars: &mut Bars, start_ns: i64, warmup_bars: usize) -> WarmupShortfall {
    let before = bars.time_ns.partition_point(|&t| t < start_ns);
    let drop = before.saturating_sub(warmup_bars);
    if drop > 0 {
        bars.time_ns.drain(..drop);
        for side in [&mut bars.bid, &mut bars.ask] {
            for column in columns_mut(side) {
                column.drain(..drop);
            }
        }
    }
    shortfall(warmup_bars, before - drop)
}

fn shortfall(requested_bars: usize, available_bars: usize) -> WarmupShortfall {
    WarmupShortfall { requested_bars, available_bars, shortfall_bars: requested_bars - available_bars }
}

/// Both sides have rows in the range, but none share a timestamp.
pub(crate) fn no_common_bars(bid: Origin, ask: Origin, start_ns: i64, end_ns: i64) -> EngineError {
    let err = EngineError::new(
        ErrorCode::DataNoBars,
        format!(
            "no bars in the requested range [{}, {}): {bid} and {ask} share no timestamp there; check that both belong to the same symbol and timeframe",
            format_iso(start_ns),
            format_iso(end_ns),
        ),
    );
    locate_pair(err, bid, ask)
}

/// The bid side's origin as `file` or `frame`, the ask side's as `ask_file` or `ask_frame`.
fn locate_pair(err: EngineError, bid: Origin, ask: Origin) -> EngineError {
    let err = bid.locate(err);
    match ask {
        Origin::File(path) => err.with("ask_file", path.display()),
        Origin::Frame(side) => err.with("ask_frame", side.as_str().to_ascii_lowercase()),
    }
}

/// Bid must not exceed ask on open or close (high/low extremes may come from different ticks).
pub(crate) fn check_bid_not_above_ask(bars: &Bars, bid_origin: Origin, ask_origin: Origin) -> Result<()> {
    let fields = [("Open", &bars.bid.open, &bars.ask.open), ("Close", &bars.bid.close, &bars.ask.close)];
    let ordered = |bid: &[f64], ask: &[f64]| bid.iter().zip(ask).fold(true, |ok, (b, a)| ok & (b <= a));
    if fields.iter().all(|(_, bid, ask)| ordered(bid, ask)) {
        return Ok(());
    }
    for (i, &ns) in bars.time_ns.iter().enumerate() {
        for (name, bid, ask) in fields {
            if bid[i] > ask[i] {
                let err = EngineError::new(
                    ErrorCode::DataBidAboveAsk,
                    format!(
                        "bid above ask at {} on {name}: bid {} > ask {} ({bid_origin} vs {ask_origin}); check that bid and ask are not swapped",
                        format_iso(ns),
                        price(bid[i]),
                        price(ask[i]),
                    ),
                );
                return Err(locate_pair(err, bid_origin, ask_origin).with("column", name).with("time", format_iso(ns)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(times: &[i64]) -> SideData {
        let mut ohlc = Ohlc::default();
        for &t in times {
            ohlc.push(t as f64, t as f64, t as f64, t as f64);
        }
        SideData { time_ns: times.to_vec(), ohlc, duplicates: 0, skipped: Default::default() }
    }

    #[test]
    fn joins_on_common_timestamps_and_counts_drops_in_range() {
        let (bars, a, _) = align(side(&[0, 1, 2, 3]), side(&[1, 2, 3, 4]), 0, 0);
        assert_eq!(bars.time_ns, [1, 2, 3]);
        assert_eq!(bars.ask.close, [1.0, 2.0, 3.0]);
        assert_eq!((a.bid_rows, a.ask_rows, a.aligned_rows, a.dropped_bid_only, a.dropped_ask_only), (4, 4, 3, 1, 1));
        // Rows before the start (warmup candidates) are not counted.
        let (_, a, _) = align(side(&[0, 1, 2, 3]), side(&[1, 2, 3, 4]), 2, 0);
        assert_eq!((a.bid_rows, a.ask_rows, a.aligned_rows), (2, 3, 2));
    }

    #[test]
    fn keeps_the_requested_warmup_on_both_paths() {
        let times = [1, 2, 3, 4, 5, 6];
        for ask in [&times[..], &[1, 2, 3, 4, 5, 6, 7]] {
            let (bars, a, w) = align(side(&times), side(ask), 4, 2);
            assert_eq!(bars.time_ns, [2, 3, 4, 5, 6]);
            assert_eq!(bars.bid.open, [2.0, 3.0, 4.0, 5.0, 6.0]);
            assert_eq!((w.available_bars, w.shortfall_bars, a.aligned_rows), (2, 0, 3));
            let (bars, _, w) = align(side(&times), side(ask), 4, 5);
            assert_eq!(bars.len(), 6);
            assert_eq!((w.requested_bars, w.available_bars, w.shortfall_bars), (5, 3, 2));
        }
    }
}
