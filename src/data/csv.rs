//! CSV data files: `UTC time,Open,High,Low,Close,Volume` (found by name, any order, extra columns
//! ignored). Read as raw byte records with hand-parsed timestamps; prices are parsed straight
//! from the bytes (`fast-float2`, correctly rounded like `str::parse`, which remains the fallback
//! for padded fields) and only for rows inside the window; reading stops at the first row past it.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use ::csv::{ByteRecord, ErrorKind, ReaderBuilder};

use super::messages::{detail, file_error, listed, quoted, row_error, Origin, RowDetail, RowRef};
use super::side::{PriceBounds, SideBuilder, SideData, Window, PRICE_COLUMNS};
use crate::error::{EngineError, ErrorCode, Result};
use crate::market::Ohlc;
use crate::timefmt::{civil_from_days, day_of, parse_timestamp, TimestampError, NANOS_PER_DAY, NANOS_PER_SEC};

pub(crate) const TIME_COLUMN: &str = "UTC time";
/// Every data file has these columns; `Volume` is required by the format but never loaded.
pub(crate) const REQUIRED_COLUMNS: [&str; 6] = [TIME_COLUMN, "Open", "High", "Low", "Close", "Volume"];

/// The shortest CSV row (`2025-01-01T00:00:00Z,1,1,1,1,1`) is ~30 bytes: bounds the rows of a file.
const MIN_ROW_BYTES: u64 = 30;

/// Years outside this range are rejected before conversion (i64 ns overflow lies beyond 2262).
const PLAUSIBLE_YEARS: std::ops::RangeInclusive<u32> = 1900..=2200;

pub(crate) fn read_side(path: &Path, window: Window, prices: PriceBounds) -> Result<SideData> {
    let file = File::open(path).map_err(|e| file_error(ErrorCode::DataIo, path, format_args!("cannot open: {e}")))?;
    let max_rows =
        file.metadata().map_or(usize::MAX, |m| usize::try_from(m.len() / MIN_ROW_BYTES).unwrap_or(usize::MAX));
    let probe = file.try_clone().map_err(|e| file_error(ErrorCode::DataIo, path, format_args!("cannot open: {e}")))?;
    let mut reader = ReaderBuilder::new().buffer_capacity(1 << 16).from_reader(file);
    let headers = reader.byte_headers().map_err(|e| csv_error(path, e, 0))?.clone();
    let [time_col, open_col, high_col, low_col, close_col] = column_indices(&headers, path)?;
    let lag = line_lag(&probe, reader.position().byte());

    let mut side = SideBuilder::new(Origin::File(path), window, prices, max_rows);
    let mut record = ByteRecord::new();
    let mut row = 0u64;
    while reader.read_byte_record(&mut record).map_err(|e| csv_error(path, e, lag))? {
        row += 1;
        let line = record.position().map_or(row + 1, |p| p.line() + lag);
        let at = RowRef { row, detail: RowDetail::Line(line) };
        let ns = parse_time(field(&record, time_col), path, at)?;
        if side.place(ns, at)? {
            let mut prices = [0.0; 4];
            for ((price, col), name) in
                prices.iter_mut().zip([open_col, high_col, low_col, close_col]).zip(PRICE_COLUMNS)
            {
                *price = parse_price(field(&record, col), path, at, name)?;
            }
            side.push(ns, prices, at)?;
        } else if side.done() {
            break;
        }
    }
    side.finish()
}

/// Indices of `UTC time`, Open, High, Low, Close; `Volume` must exist too.
fn column_indices(headers: &ByteRecord, path: &Path) -> Result<[usize; 5]> {
    let names: Vec<String> =
        headers.iter().map(|h| String::from_utf8_lossy(h).trim().trim_start_matches('\u{feff}').to_string()).collect();
    let find =
        |wanted: &str| names.iter().position(|n| n == wanted).ok_or_else(|| missing_column(path, wanted, &names));
    find("Volume")?;
    Ok([find(TIME_COLUMN)?, find("Open")?, find("High")?, find("Low")?, find("Close")?])
}

/// `data.missing_column` naming the column, the file and (the first of) the columns found
/// (shared with parquet).
pub(crate) fn missing_column(path: &Path, wanted: &str, found: &[String]) -> EngineError {
    file_error(
        ErrorCode::DataMissingColumn,
        path,
        format_args!(
            "missing column `{wanted}` ({} columns found: {}); the format needs {} (matched by exact name)",
            found.len(),
            listed(found.iter().map(String::as_str)),
            listed(REQUIRED_COLUMNS.into_iter())
        ),
    )
    .with("column", wanted)
}

fn field(record: &ByteRecord, index: usize) -> &[u8] {
    record.get(index).unwrap_or_default()
}

fn parse_time(raw: &[u8], path: &Path, at: RowRef) -> Result<i64> {
    let origin = Origin::File(path);
    let year = raw.get(..4).filter(|y| y.iter().all(u8::is_ascii_digit));
    let year = year.map(|y| y.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')));
    let parsed = match std::str::from_utf8(raw) {
        Ok(text) if year.is_some_and(|y| PLAUSIBLE_YEARS.contains(&y)) => parse_timestamp(text),
        _ => Err(TimestampError::Malformed),
    };
    parsed.map_err(|e| match e {
        TimestampError::MissingOffset => row_error(
            ErrorCode::DataNaiveTimestamp,
            origin,
            at,
            Some(TIME_COLUMN),
            format_args!(
                "timestamp {} has no UTC offset; the engine never guesses a time zone; write timestamps with +00:00 or as UTC-adjusted parquet",
                quoted(raw)
            ),
        ),
        TimestampError::Malformed => row_error(
            ErrorCode::DataBadValue,
            origin,
            at,
            Some(TIME_COLUMN),
            format_args!(
                "cannot parse timestamp {}; expected e.g. 2025-01-01 00:00:00+00:00 or 2025-01-01T00:00:00Z (years {}-{})",
                quoted(raw),
                PLAUSIBLE_YEARS.start(),
                PLAUSIBLE_YEARS.end()
            ),
        ),
    })
}

fn parse_price(raw: &[u8], path: &Path, at: RowRef, column: &str) -> Result<f64> {
    if let Ok(value) = fast_float2::parse::<f64, _>(raw) {
        return Ok(value);
    }
    std::str::from_utf8(raw).ok().and_then(|s| s.trim().parse::<f64>().ok()).ok_or_else(|| {
        let what = format_args!("cannot parse number {}", quoted(raw));
        row_error(ErrorCode::DataBadValue, Origin::File(path), at, Some(column), what)
    })
}

/// rust-csv counts the line of a `\r\n` terminator only when it reads the next record, so the
/// lines it reports on CRLF files lag by one (BurntSushi/rust-csv#395): 1 when the header line
/// ends in `\r\n`. After the header the reader stands at its `\n` (it consumed the `\r` only)
/// or just past it.
fn line_lag(file: &File, after_header: u64) -> u64 {
    use std::os::unix::fs::FileExt;
    let mut around = [0u8; 3];
    let start = after_header.saturating_sub(2);
    let read = file.read_at(&mut around, start).unwrap_or(0);
    let crlf = around[..read].windows(2).any(|w| w == b"\r\n");
    u64::from(crlf)
}

fn csv_error(path: &Path, err: ::csv::Error, lag: u64) -> EngineError {
    match err.kind() {
        ErrorKind::Io(e) => file_error(ErrorCode::DataIo, path, format_args!("cannot read: {e}")),
        ErrorKind::UnequalLengths { pos: Some(pos), expected_len, len } => row_error(
            ErrorCode::DataMalformed,
            Origin::File(path),
            // The header is record 0, so the record index is the 1-based data row.
            RowRef { row: pos.record(), detail: RowDetail::Line(pos.line() + lag) },
            None,
            format_args!("has {len} fields but the header has {expected_len}; every row needs one value per column"),
        ),
        _ => file_error(ErrorCode::DataMalformed, path, format_args!("not a readable CSV file: {}", detail(&err))),
    }
}

/// Writes one side as CSV (`UTC time` as `YYYY-MM-DD HH:MM:SS+00:00`, prices in shortest
/// round-trip form), atomically.
pub fn write_side(path: &Path, time_ns: &[i64], ohlc: &Ohlc, volume: &[f64]) -> Result<()> {
    super::write_atomically(path, |mut out| {
        let io = |e: std::io::Error| EngineError::output_io("write", path, &e);
        writeln!(out, "{}", REQUIRED_COLUMNS.join(",")).map_err(io)?;
        let mut stamp = String::with_capacity(32);
        for (i, &ns) in time_ns.iter().enumerate() {
            stamp.clear();
            write_timestamp(&mut stamp, ns);
            let (o, h, l, c) = (ohlc.open[i], ohlc.high[i], ohlc.low[i], ohlc.close[i]);
            writeln!(out, "{stamp},{o},{h},{l},{c},{}", volume[i]).map_err(io)?;
        }
        super::finish_buffered(out, path)
    })
}

/// `YYYY-MM-DD HH:MM:SS+00:00` (whole seconds: bars open on the minute).
fn write_timestamp(out: &mut String, ns: i64) {
    use std::fmt::Write as _;
    let day = day_of(ns);
    let secs = (ns - day * NANOS_PER_DAY) / NANOS_PER_SEC;
    let (y, m, d) = civil_from_days(day);
    let _ = write!(out, "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}+00:00", secs / 3600, secs / 60 % 60, secs % 60);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_the_written_form() {
        let ns = parse_timestamp("2025-03-07 21:59:00+00:00").unwrap();
        let mut s = String::new();
        write_timestamp(&mut s, ns);
        assert_eq!(s, "2025-03-07 21:59:00+00:00");
    }

    proptest::proptest! {
        #[test]
        fn prices_parse_exactly_like_std(text in "[ ]?[-+]?[0-9]{0,3}[.]?[0-9]{0,20}([eE][-+]?[0-9]{1,3})?[ ]?|[-+]?(inf|NaN|infinity|nan|x)") {
            let at = RowRef { row: 1, detail: RowDetail::Line(2) };
            let ours = parse_price(text.as_bytes(), Path::new("f.csv"), at, "Open").ok();
            let std = text.trim().parse::<f64>().ok();
            proptest::prop_assert_eq!(ours.map(f64::to_bits), std.map(f64::to_bits), "{:?}", text);
        }
    }

    #[test]
    fn implausible_years_are_bad_values_not_overflows() {
        let at = RowRef { row: 1, detail: RowDetail::Line(2) };
        for text in ["0001-01-01 00:00:00Z", "9999-12-31 00:00:00Z", "", "20x5-01-01T00:00:00Z"] {
            let err = parse_time(text.as_bytes(), Path::new("f.csv"), at).unwrap_err();
            assert_eq!(err.code, ErrorCode::DataBadValue, "{text}");
        }
    }
}
