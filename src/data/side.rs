//! What every source of rows shares (CSV, parquet, in-memory frames): the time window that
//! decides which rows are kept and the row checks (finite, positive, within the symbol's price
//! scale, OHLC-consistent, strictly increasing, duplicates). Readers decode timestamps and prices
//! and feed them to [`SideBuilder`].

use std::ops::Range;

use super::messages::{origin_error, price, row_error, Origin, RowRef};
use crate::error::{EngineError, ErrorCode, Result};
use crate::market::Ohlc;
use crate::timefmt::format_iso;

/// Which rows a side keeps: those in `[start, end)`, plus at most `keep_before` rows before
/// `start` (the warmup candidates), searched no earlier than `lower`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub lower: i64,
    pub start: i64,
    pub end: i64,
    pub step_ns: i64,
    pub keep_before: usize,
}

/// The prices a side may hold: from one pip to [`PriceBounds::MAX_PIPS`] pips of the symbol.
/// Prices outside are not a market of this symbol: data in another unit (scaled by a power of
/// ten, or in points instead of price) or of another symbol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PriceBounds {
    pub min: f64,
    pub max: f64,
}

impl PriceBounds {
    pub const MAX_PIPS: f64 = 1e9;

    pub fn for_pip_size(pip_size: f64) -> Result<Self> {
        let max = pip_size * Self::MAX_PIPS;
        if !(pip_size > 0.0 && max.is_finite()) {
            return Err(EngineError::new(
                ErrorCode::DataInvalidPipSize,
                "the symbol's pip size must be a positive finite number; check the symbol specs",
            ));
        }
        Ok(Self { min: pip_size, max })
    }

    #[inline(always)]
    fn contains(&self, v: f64) -> bool {
        // False for NaN; with a positive finite range also for infinities and v <= 0.
        (v >= self.min) & (v <= self.max)
    }
}

/// Columns are reserved up front for at most this many rows (about eleven years of M1) and grow
/// beyond it only if needed: the bound comes from metadata and dates, and a corrupt file or an
/// absurd range must not make one huge allocation (an allocation failure aborts the process).
const MAX_RESERVED_ROWS: usize = 1 << 22;

impl Window {
    /// Upper bound on the bars of a regular series inside the window, for sizing columns once.
    pub fn slots(&self) -> usize {
        let span = self.end.saturating_sub(self.start).max(0);
        let range = usize::try_from(span / self.step_ns.max(1)).unwrap_or(usize::MAX);
        range.saturating_add(self.keep_before).saturating_add(1)
    }
}

pub(crate) const PRICE_COLUMNS: [&str; 4] = ["Open", "High", "Low", "Close"];

/// The four price columns of a side, in [`PRICE_COLUMNS`] order.
pub(crate) fn columns_mut(ohlc: &mut Ohlc) -> [&mut Vec<f64>; 4] {
    [&mut ohlc.open, &mut ohlc.high, &mut ohlc.low, &mut ohlc.close]
}

/// The kept rows of one side, validated, sorted and free of duplicates.
#[derive(Debug)]
pub(crate) struct SideData {
    pub time_ns: Vec<i64>,
    pub ohlc: Ohlc,
    /// Identical duplicates dropped inside the requested range.
    pub duplicates: usize,
    pub skipped: Skipped,
}

/// Whether rows before `start` were left out, and by which limit (drives the warmup retry).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Skipped {
    /// Rows older than `Window::lower` exist.
    pub before_lower: bool,
    /// More than `Window::keep_before` rows before `start` existed.
    pub over_keep: bool,
}

/// Collects the kept rows of one side and enforces the row rules on them.
pub(crate) struct SideBuilder<'a> {
    origin: Origin<'a>,
    window: Window,
    prices: PriceBounds,
    pub time_ns: Vec<i64>,
    pub ohlc: Ohlc,
    duplicates: usize,
    /// Last timestamp seen (kept or not), for the increasing-order check.
    prev_ns: i64,
    first_ns: Option<i64>,
    last_ns: Option<i64>,
    range_started: bool,
    past_end: bool,
    skipped: Skipped,
}

impl<'a> SideBuilder<'a> {
    /// `max_rows` is what the source could hold at most (`usize::MAX` if unknown).
    pub fn new(origin: Origin<'a>, window: Window, prices: PriceBounds, max_rows: usize) -> Self {
        let capacity = window.slots().min(max_rows).min(MAX_RESERVED_ROWS);
        Self {
            origin,
            window,
            prices,
            time_ns: Vec::with_capacity(capacity),
            ohlc: Ohlc::with_capacity(capacity),
            duplicates: 0,
            prev_ns: i64::MIN,
            first_ns: None,
            last_ns: None,
            range_started: false,
            past_end: false,
            skipped: Skipped::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.time_ns.len()
    }

    /// Registers the timestamps of the next rows (row `k` located by `at(k)`): fails if they go
    /// backwards, else returns the span of them to decode and keep. When the range begins, the
    /// rows kept before it are cut to `keep_before`, before the range rows are appended, so the
    /// cut never moves them.
    pub fn place_batch(&mut self, times: &[i64], at: impl Fn(usize) -> RowRef) -> Result<Range<usize>> {
        let (Some(&first), Some(&last)) = (times.first(), times.last()) else { return Ok(0..0) };
        let mut prev = self.prev_ns;
        for (k, &ns) in times.iter().enumerate() {
            if ns < prev {
                return Err(self.not_increasing(ns, prev, at(k)));
            }
            prev = ns;
        }
        self.prev_ns = last;
        self.note_extent(first, last);
        let w = self.window;
        let lower = times.partition_point(|&t| t < w.lower);
        let start = times.partition_point(|&t| t < w.start);
        let end = times.partition_point(|&t| t < w.end);
        let from = lower.max(start - (start - lower).min(w.keep_before));
        self.skipped.before_lower |= lower > 0;
        self.skipped.over_keep |= from > lower;
        self.past_end |= end < times.len();
        if end > start && !self.range_started {
            self.range_started = true;
            self.cut_rows_before_start(w.keep_before.saturating_sub(start - from));
        }
        Ok(from..end.max(from))
    }

    /// [`Self::place_batch`] for one row: whether to keep it.
    pub fn place(&mut self, ns: i64, at: RowRef) -> Result<bool> {
        // The common row (in order, inside a range that has begun) needs no batch search.
        if self.range_started && ns >= self.prev_ns && ns < self.window.end {
            self.prev_ns = ns;
            self.last_ns = Some(self.last_ns.map_or(ns, |l| l.max(ns)));
            return Ok(true);
        }
        Ok(!self.place_batch(&[ns], |_| at)?.is_empty())
    }

    /// Records the time span of a row group skipped by its statistics.
    pub fn note_skipped(&mut self, min_ns: i64, max_ns: i64) {
        self.note_extent(min_ns, max_ns);
        self.skipped.before_lower |= max_ns < self.window.lower;
    }

    fn note_extent(&mut self, min_ns: i64, max_ns: i64) {
        self.first_ns = Some(self.first_ns.map_or(min_ns, |f| f.min(min_ns)));
        self.last_ns = Some(self.last_ns.map_or(max_ns, |l| l.max(max_ns)));
    }

    /// Keeps the last `keep` of the (all pre-start) rows collected so far.
    fn cut_rows_before_start(&mut self, keep: usize) {
        let excess = self.len().saturating_sub(keep);
        if excess > 0 {
            self.skipped.over_keep = true;
            self.time_ns.drain(..excess);
            for column in columns_mut(&mut self.ohlc) {
                column.drain(..excess);
            }
        }
    }

    /// True once a row past the window was seen and the range has rows: nothing later is needed.
    /// While the range is still empty, readers go on so the error can name the file's real extent.
    pub fn done(&self) -> bool {
        self.past_end && self.range_has_rows()
    }

    fn range_has_rows(&self) -> bool {
        self.time_ns.last().is_some_and(|&t| t >= self.window.start)
    }

    /// Appends one kept row and validates it.
    pub fn push(&mut self, ns: i64, prices: [f64; 4], at: RowRef) -> Result<()> {
        let repeat = self.time_ns.last() == Some(&ns);
        self.time_ns.push(ns);
        self.ohlc.push(prices[0], prices[1], prices[2], prices[3]);
        if !row_ok(prices, self.prices) {
            check_prices(prices, self.origin, self.prices, || at)?;
        }
        if repeat {
            return self.drop_duplicates(self.len() - 1, self.len() - 1, |_| at);
        }
        Ok(())
    }

    /// Validates the rows appended since `from` (row `from + k` is located by `at(k)`) and drops
    /// identical duplicates. Placement already guaranteed non-decreasing timestamps, so only
    /// rows repeating the previous timestamp need the slower compaction.
    pub fn accept_tail(&mut self, from: usize, at: impl Fn(usize) -> RowRef) -> Result<()> {
        // Branch-free passes (vectorised) first; the located searches only run on a failure.
        if !prices_all_ok(&self.ohlc, from, self.prices) {
            let o = &self.ohlc;
            let rows = o.open[from..].iter().zip(&o.high[from..]).zip(&o.low[from..]).zip(&o.close[from..]);
            for (k, (((&open, &high), &low), &close)) in rows.enumerate() {
                check_prices([open, high, low, close], self.origin, self.prices, || at(k))?;
            }
        }
        let times = &self.time_ns[from.saturating_sub(1)..];
        if !times.windows(2).fold(false, |repeat, w| repeat | (w[0] == w[1])) {
            return Ok(());
        }
        match (from.max(1)..self.len()).find(|&j| self.time_ns[j] == self.time_ns[j - 1]) {
            Some(first) => self.drop_duplicates(from, first, at),
            None => Ok(()),
        }
    }

    /// Compacts rows `first..` in place, dropping identical repeats of the previous row.
    fn drop_duplicates(&mut self, from: usize, first: usize, at: impl Fn(usize) -> RowRef) -> Result<()> {
        let mut kept = first;
        for j in first..self.len() {
            let row = self.row(j);
            let prev = self.row(kept - 1);
            if prev.0 == row.0 {
                if prev.1 != row.1 {
                    return Err(divergent_duplicate(self.origin, at(j - from), prev.1, row.1, row.0));
                }
                self.duplicates += usize::from(row.0 >= self.window.start);
                continue;
            }
            self.set_row(kept, row);
            kept += 1;
        }
        self.time_ns.truncate(kept);
        for column in columns_mut(&mut self.ohlc) {
            column.truncate(kept);
        }
        Ok(())
    }

    /// Ends reading: a side without rows in the requested range is `data.no_bars`.
    pub fn finish(self) -> Result<SideData> {
        if !self.range_has_rows() {
            return Err(self.no_bars());
        }
        Ok(SideData { time_ns: self.time_ns, ohlc: self.ohlc, duplicates: self.duplicates, skipped: self.skipped })
    }

    fn not_increasing(&self, ns: i64, prev: i64, at: RowRef) -> EngineError {
        row_error(
            ErrorCode::DataNotIncreasing,
            self.origin,
            at,
            Some("UTC time"),
            format_args!(
                "timestamp {} is earlier than the previous row's {}; rows must be sorted by time, strictly increasing",
                format_iso(ns),
                format_iso(prev)
            ),
        )
    }

    fn no_bars(&self) -> EngineError {
        let extent = match (self.first_ns, self.last_ns) {
            (Some(first), Some(last)) => format!("its rows span {} to {}", format_iso(first), format_iso(last)),
            _ => "it has no data rows".to_string(),
        };
        origin_error(
            ErrorCode::DataNoBars,
            self.origin,
            format_args!(
                "no bars in the requested range [{}, {}); {extent}; choose dates inside the data",
                format_iso(self.window.start),
                format_iso(self.window.end)
            ),
        )
    }

    fn row(&self, i: usize) -> (i64, [f64; 4]) {
        let o = &self.ohlc;
        (self.time_ns[i], [o.open[i], o.high[i], o.low[i], o.close[i]])
    }

    fn set_row(&mut self, i: usize, (ns, [open, high, low, close]): (i64, [f64; 4])) {
        self.time_ns[i] = ns;
        self.ohlc.open[i] = open;
        self.ohlc.high[i] = high;
        self.ohlc.low[i] = low;
        self.ohlc.close[i] = close;
    }
}

/// Whether the rows `from..` pass [`check_prices`], as one branch-free pass (vectorised).
fn prices_all_ok(o: &Ohlc, from: usize, bounds: PriceBounds) -> bool {
    let n = o.len() - from;
    let [open, high, low, close] = [&o.open, &o.high, &o.low, &o.close].map(|c| &c[from..from + n]);
    let mut ok = true;
    for i in 0..n {
        ok &= row_ok([open[i], high[i], low[i], close[i]], bounds);
    }
    ok
}

/// The rule [`check_prices`] explains, without branches (`high >= max(open, close)` is spelled
/// out so that loops over it vectorise; NaN fails the bounds anyway).
#[inline(always)]
fn row_ok([open, high, low, close]: [f64; 4], bounds: PriceBounds) -> bool {
    bounds.contains(open)
        & bounds.contains(high)
        & bounds.contains(low)
        & bounds.contains(close)
        & (high >= open)
        & (high >= close)
        & (low <= open)
        & (low <= close)
}

/// Finite, positive, within the symbol's price bounds, `high >= max(open, close)` and
/// `low <= min(open, close)`.
fn check_prices(prices: [f64; 4], origin: Origin, bounds: PriceBounds, at: impl Fn() -> RowRef) -> Result<()> {
    for (value, column) in prices.into_iter().zip(PRICE_COLUMNS) {
        if !value.is_finite() {
            let what = format_args!("{value} is not a finite price");
            return Err(row_error(ErrorCode::DataNonFinite, origin, at(), Some(column), what));
        }
        if value <= 0.0 {
            let what = format_args!("price {} is not positive", price(value));
            return Err(row_error(ErrorCode::DataNonPositive, origin, at(), Some(column), what));
        }
        if !bounds.contains(value) {
            return Err(out_of_scale(value, origin, bounds, at(), column));
        }
    }
    let [open, high, low, close] = prices;
    if high < open.max(close) {
        let what = format_args!("High {} is below max(Open, Close) = {}", price(high), price(open.max(close)));
        return Err(row_error(ErrorCode::DataOhlcInconsistent, origin, at(), Some("High"), what));
    }
    if low > open.min(close) {
        let what = format_args!("Low {} is above min(Open, Close) = {}", price(low), price(open.min(close)));
        return Err(row_error(ErrorCode::DataOhlcInconsistent, origin, at(), Some("Low"), what));
    }
    Ok(())
}

fn out_of_scale(value: f64, origin: Origin, bounds: PriceBounds, at: RowRef, column: &str) -> EngineError {
    let allowed = format!("[{}, {}]", price(bounds.min), price(bounds.max));
    row_error(
        ErrorCode::DataPriceScale,
        origin,
        at,
        Some(column),
        format_args!(
            "price {} is outside {allowed}, the range from one pip ({}) to {:e} pips allowed for the symbol; the data's price scale does not match the symbol's pip size (e.g. prices multiplied by a power of ten), or the data belongs to another symbol",
            price(value),
            price(bounds.min),
            PriceBounds::MAX_PIPS
        ),
    )
    .with("value", price(value))
    .with("allowed", allowed)
}

fn divergent_duplicate(origin: Origin, at: RowRef, prev: [f64; 4], this: [f64; 4], ns: i64) -> EngineError {
    row_error(
        ErrorCode::DataDuplicateDivergent,
        origin,
        at,
        Some("UTC time"),
        format_args!(
            "timestamp {} repeats the previous row's with different prices (Open/High/Low/Close {} then {}); keep one of them",
            format_iso(ns),
            slashed(prev),
            slashed(this)
        ),
    )
}

fn slashed(prices: [f64; 4]) -> String {
    prices.map(|p| price(p).to_string()).join("/")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::data::messages::RowDetail;

    const MIN: i64 = 60_000_000_000;

    fn builder(path: &Path) -> SideBuilder<'_> {
        let window = Window { lower: 10 * MIN, start: 20 * MIN, end: 30 * MIN, step_ns: MIN, keep_before: 3 };
        SideBuilder::new(Origin::File(path), window, PriceBounds::for_pip_size(1e-4).unwrap(), 100)
    }

    fn at(row: u64) -> RowRef {
        RowRef { row, detail: RowDetail::Line(row + 1) }
    }

    #[test]
    fn price_bounds_span_one_pip_to_a_billion_pips() {
        let b = PriceBounds::for_pip_size(0.01).unwrap();
        assert_eq!((b.min, b.max), (0.01, 1e7));
        assert!(b.contains(0.01) && b.contains(1e7) && !b.contains(0.0099) && !b.contains(f64::NAN));
        for bad in [0.0, -1e-4, f64::NAN, f64::INFINITY, f64::MAX] {
            assert_eq!(PriceBounds::for_pip_size(bad).unwrap_err().code, ErrorCode::DataInvalidPipSize, "{bad}");
        }
    }

    #[test]
    fn places_rows_and_rejects_going_backwards() {
        let path = Path::new("x.csv");
        let mut b = builder(path);
        assert!(!b.place(5 * MIN, at(1)).unwrap());
        assert!(b.place(10 * MIN, at(2)).unwrap());
        assert!(b.place(29 * MIN, at(3)).unwrap());
        assert!(!b.place(30 * MIN, at(4)).unwrap());
        let err = b.place(29 * MIN, at(5)).unwrap_err();
        assert_eq!(err.code, ErrorCode::DataNotIncreasing);
        assert!(err.message.contains("row 5 (line 6)"), "{err}");
    }

    #[test]
    fn keeps_at_most_keep_before_rows_before_the_start() {
        let path = Path::new("x.parquet");
        let mut b = builder(path);
        // Minutes 0..25 in one batch: 10..20 are candidates, only the last 3 are kept.
        let times: Vec<i64> = (0..25).map(|m| m * MIN).collect();
        assert_eq!(b.place_batch(&times, |k| at(k as u64 + 1)).unwrap(), 17..25);
        assert_eq!(b.skipped, Skipped { before_lower: true, over_keep: true });
        // Rows collected before the range began are cut when it begins.
        let mut b = builder(path);
        for m in 12..19 {
            assert!(b.place(m * MIN, at(1)).unwrap());
            b.push(m * MIN, [1.0; 4], at(1)).unwrap();
        }
        assert_eq!(b.place_batch(&[19 * MIN, 20 * MIN], |_| at(1)).unwrap(), 0..2);
        assert_eq!(b.time_ns, [17 * MIN, 18 * MIN]);
    }

    #[test]
    fn drops_identical_duplicates_and_rejects_divergent_ones() {
        let path = Path::new("x.csv");
        let mut b = builder(path);
        b.push(20 * MIN, [1.0, 2.0, 0.5, 1.5], at(1)).unwrap();
        b.push(20 * MIN, [1.0, 2.0, 0.5, 1.5], at(2)).unwrap();
        assert_eq!(b.len(), 1);
        let err = b.push(20 * MIN, [1.0, 2.0, 0.5, 1.6], at(3)).unwrap_err();
        assert_eq!(err.code, ErrorCode::DataDuplicateDivergent);
        assert_eq!(b.duplicates, 1);
    }

    #[test]
    fn price_checks_name_the_column() {
        let path = Path::new("x.csv");
        let cases = [
            ([f64::NAN, 1.0, 1.0, 1.0], ErrorCode::DataNonFinite, "Open"),
            ([1.0, 1.0, 1.0, 0.0], ErrorCode::DataNonPositive, "Close"),
            ([1.0, 1.1, 0.9, 1.2], ErrorCode::DataOhlcInconsistent, "High"),
            ([1.0, 1.3, 1.05, 1.2], ErrorCode::DataOhlcInconsistent, "Low"),
            ([1.0, 1.0e5 * 1.0001, 1.0, 1.0], ErrorCode::DataPriceScale, "High"),
            ([1.0, 1.0, 0.5e-4, 1.0], ErrorCode::DataPriceScale, "Low"),
        ];
        for (prices, code, column) in cases {
            let err = builder(path).push(20 * MIN, prices, at(7)).unwrap_err();
            assert_eq!((err.code, err.context["column"].as_str()), (code, column));
        }
    }
}
