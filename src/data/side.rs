//! What both file readers share: the time window that decides which rows are kept, the row
//! checks of SPEC 3 (finite, positive, OHLC-consistent, strictly increasing, duplicates) and the
//! located error messages. Readers decode timestamps and prices and feed them to [`SideBuilder`].

use std::fmt;
use std::path::Path;

use crate::error::{EngineError, Result};
use crate::market::Ohlc;
use crate::timefmt::format_iso;

/// Rows with `lower <= t < end` are kept; `[lower, start)` is the warmup lookback.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub lower: i64,
    pub start: i64,
    pub end: i64,
    pub step_ns: i64,
}

impl Window {
    /// Upper bound on the bars of a regular series inside the window, for sizing columns once.
    pub fn slots(&self) -> usize {
        let span = self.end.saturating_sub(self.lower).max(0);
        usize::try_from(span / self.step_ns.max(1)).unwrap_or(usize::MAX).saturating_add(1)
    }
}

/// Where a timestamp falls relative to the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    Before,
    Keep,
    After,
}

/// A row's position in its file for error messages: the 1-based data row, plus the CSV line or
/// the parquet row group.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowRef {
    pub row: u64,
    pub detail: RowDetail,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum RowDetail {
    Line(u64),
    RowGroup(usize),
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.detail {
            RowDetail::Line(line) => write!(f, "row {} (line {line})", self.row),
            RowDetail::RowGroup(group) => write!(f, "row {} (row group {group})", self.row),
        }
    }
}

/// A data error located at a row (and optionally a column) of `path`.
pub(crate) fn row_error(
    code: &'static str,
    path: &Path,
    at: RowRef,
    column: Option<&str>,
    what: impl fmt::Display,
) -> EngineError {
    let column_part = column.map(|c| format!(", column `{c}`")).unwrap_or_default();
    let mut err = EngineError::data(code, format!("{}: {at}{column_part}: {what}", path.display()))
        .with_file(path)
        .with("row", at.row);
    if let RowDetail::Line(line) = at.detail {
        err = err.with("line", line);
    }
    match column {
        Some(c) => err.with("column", c),
        None => err,
    }
}

/// A data error about a whole file (no row).
pub(crate) fn file_error(code: &'static str, path: &Path, what: impl fmt::Display) -> EngineError {
    EngineError::data(code, format!("{}: {what}", path.display())).with_file(path)
}

pub(crate) const PRICE_COLUMNS: [&str; 4] = ["Open", "High", "Low", "Close"];

/// The kept rows of one side, validated, sorted and free of duplicates.
#[derive(Debug)]
pub(crate) struct SideData {
    pub time_ns: Vec<i64>,
    pub ohlc: Ohlc,
    /// Identical duplicates dropped inside the requested range.
    pub duplicates: usize,
    /// First timestamp of the file (`i64::MAX` if it has no rows).
    pub first_ns: i64,
}

/// Collects the kept rows of one file and enforces the row rules on them.
pub(crate) struct SideBuilder<'a> {
    path: &'a Path,
    window: Window,
    pub time_ns: Vec<i64>,
    pub ohlc: Ohlc,
    duplicates: usize,
    /// Last timestamp seen (kept or not), for the increasing-order check.
    prev_ns: Option<i64>,
    first_ns: Option<i64>,
    last_ns: Option<i64>,
    past_end: bool,
}

impl<'a> SideBuilder<'a> {
    /// `max_rows` is what the file could hold at most (`usize::MAX` if unknown).
    pub fn new(path: &'a Path, window: Window, max_rows: usize) -> Self {
        let capacity = window.slots().min(max_rows);
        Self {
            path,
            window,
            time_ns: Vec::with_capacity(capacity),
            ohlc: Ohlc::with_capacity(capacity),
            duplicates: 0,
            prev_ns: None,
            first_ns: None,
            last_ns: None,
            past_end: false,
        }
    }

    pub fn len(&self) -> usize {
        self.time_ns.len()
    }

    /// Registers the next row's timestamp: fails if it goes backwards, else says whether to keep it.
    pub fn place(&mut self, ns: i64, at: RowRef) -> Result<Placement> {
        if let Some(prev) = self.prev_ns {
            if ns < prev {
                return Err(row_error(
                    "data.not_increasing",
                    self.path,
                    at,
                    Some("UTC time"),
                    format_args!(
                        "timestamp {} is earlier than the previous row's {}; rows must be sorted by time, strictly increasing",
                        format_iso(ns),
                        format_iso(prev)
                    ),
                ));
            }
        }
        self.prev_ns = Some(ns);
        self.note_extent(ns, ns);
        Ok(if ns < self.window.lower {
            Placement::Before
        } else if ns < self.window.end {
            Placement::Keep
        } else {
            self.past_end = true;
            Placement::After
        })
    }

    /// Records the time span of rows that are skipped without decoding (parquet statistics).
    pub fn note_extent(&mut self, min_ns: i64, max_ns: i64) {
        self.first_ns = Some(self.first_ns.map_or(min_ns, |f| f.min(min_ns)));
        self.last_ns = Some(self.last_ns.map_or(max_ns, |l| l.max(max_ns)));
    }

    /// True once a row past the window was seen and the range has rows: nothing later is needed.
    /// While the range is still empty, readers go on so the error can name the file's real extent.
    pub fn done(&self) -> bool {
        self.past_end && self.time_ns.last().is_some_and(|&t| t >= self.window.start)
    }

    /// Appends one kept row and validates it.
    pub fn push(&mut self, ns: i64, prices: [f64; 4], at: RowRef) -> Result<()> {
        self.time_ns.push(ns);
        self.ohlc.push(prices[0], prices[1], prices[2], prices[3]);
        self.accept_tail(self.len() - 1, |_| at)
    }

    /// Validates the rows appended since `from` (row `from + k` is located by `at(k)`), dropping
    /// identical duplicates in place.
    pub fn accept_tail(&mut self, from: usize, at: impl Fn(usize) -> RowRef) -> Result<()> {
        let mut kept = from;
        for j in from..self.len() {
            let row = self.row(j);
            check_prices(row.1, self.path, || at(j - from))?;
            if kept > 0 && self.time_ns[kept - 1] == row.0 {
                let prev = self.row(kept - 1);
                if prev.1 != row.1 {
                    return Err(divergent_duplicate(self.path, at(j - from), prev.1, row.1, row.0));
                }
                self.duplicates += usize::from(row.0 >= self.window.start);
                continue;
            }
            if kept != j {
                self.set_row(kept, row);
            }
            kept += 1;
        }
        self.truncate(kept);
        Ok(())
    }

    /// Ends reading: a side without rows in the requested range is `data.no_bars`.
    pub fn finish(self) -> Result<SideData> {
        if !self.time_ns.last().is_some_and(|&t| t >= self.window.start) {
            return Err(self.no_bars());
        }
        Ok(SideData {
            time_ns: self.time_ns,
            ohlc: self.ohlc,
            duplicates: self.duplicates,
            first_ns: self.first_ns.unwrap_or(i64::MAX),
        })
    }

    fn no_bars(&self) -> EngineError {
        let extent = match (self.first_ns, self.last_ns) {
            (Some(first), Some(last)) => format!("its rows span {} to {}", format_iso(first), format_iso(last)),
            _ => "it has no data rows".to_string(),
        };
        file_error(
            "data.no_bars",
            self.path,
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

    fn truncate(&mut self, n: usize) {
        self.time_ns.truncate(n);
        for column in [&mut self.ohlc.open, &mut self.ohlc.high, &mut self.ohlc.low, &mut self.ohlc.close] {
            column.truncate(n);
        }
    }
}

/// Finite, positive, `high >= max(open, close)` and `low <= min(open, close)`.
fn check_prices(prices: [f64; 4], path: &Path, at: impl Fn() -> RowRef) -> Result<()> {
    for (value, column) in prices.into_iter().zip(PRICE_COLUMNS) {
        if !value.is_finite() {
            return Err(row_error("data.non_finite", path, at(), Some(column), format_args!("{value} is not a finite price")));
        }
        if value <= 0.0 {
            return Err(row_error("data.non_positive", path, at(), Some(column), format_args!("price {value} is not positive")));
        }
    }
    let [open, high, low, close] = prices;
    if high < open.max(close) {
        let what = format_args!("High {high} is below max(Open, Close) = {}", open.max(close));
        return Err(row_error("data.ohlc_inconsistent", path, at(), Some("High"), what));
    }
    if low > open.min(close) {
        let what = format_args!("Low {low} is above min(Open, Close) = {}", open.min(close));
        return Err(row_error("data.ohlc_inconsistent", path, at(), Some("Low"), what));
    }
    Ok(())
}

fn divergent_duplicate(path: &Path, at: RowRef, prev: [f64; 4], this: [f64; 4], ns: i64) -> EngineError {
    row_error(
        "data.duplicate_divergent",
        path,
        at,
        Some("UTC time"),
        format_args!(
            "timestamp {} repeats the previous row's with different prices (OHLC {prev:?} then {this:?}); keep one of them",
            format_iso(ns)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000_000_000;

    fn builder(path: &Path) -> SideBuilder<'_> {
        SideBuilder::new(path, Window { lower: 10 * MIN, start: 20 * MIN, end: 30 * MIN, step_ns: MIN }, 100)
    }

    fn at(row: u64) -> RowRef {
        RowRef { row, detail: RowDetail::Line(row + 1) }
    }

    #[test]
    fn places_rows_and_rejects_going_backwards() {
        let path = Path::new("x.csv");
        let mut b = builder(path);
        assert_eq!(b.place(5 * MIN, at(1)).unwrap(), Placement::Before);
        assert_eq!(b.place(10 * MIN, at(2)).unwrap(), Placement::Keep);
        assert_eq!(b.place(29 * MIN, at(3)).unwrap(), Placement::Keep);
        assert_eq!(b.place(30 * MIN, at(4)).unwrap(), Placement::After);
        let err = b.place(29 * MIN, at(5)).unwrap_err();
        assert_eq!(err.code, "data.not_increasing");
        assert!(err.message.contains("row 5 (line 6)"), "{err}");
    }

    #[test]
    fn drops_identical_duplicates_and_rejects_divergent_ones() {
        let path = Path::new("x.csv");
        let mut b = builder(path);
        b.push(20 * MIN, [1.0, 2.0, 0.5, 1.5], at(1)).unwrap();
        b.push(20 * MIN, [1.0, 2.0, 0.5, 1.5], at(2)).unwrap();
        assert_eq!(b.len(), 1);
        let err = b.push(20 * MIN, [1.0, 2.0, 0.5, 1.6], at(3)).unwrap_err();
        assert_eq!(err.code, "data.duplicate_divergent");
        assert_eq!(b.duplicates, 1);
    }

    #[test]
    fn price_checks_name_the_column() {
        let path = Path::new("x.csv");
        let cases = [
            ([f64::NAN, 1.0, 1.0, 1.0], "data.non_finite", "Open"),
            ([1.0, 1.0, 1.0, 0.0], "data.non_positive", "Close"),
            ([1.0, 1.1, 0.9, 1.2], "data.ohlc_inconsistent", "High"),
            ([1.0, 1.3, 1.05, 1.2], "data.ohlc_inconsistent", "Low"),
        ];
        for (prices, code, column) in cases {
            let err = builder(path).push(20 * MIN, prices, at(7)).unwrap_err();
            assert_eq!((err.code, err.context["column"].as_str()), (code, column));
        }
    }
}
