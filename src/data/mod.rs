//! Market data: resolves the bid/ask files of a symbol and timeframe (or takes in-memory
//! frames), reads only the rows a run needs (date range + warmup), validates them, aligns bid and
//! ask, and reports the governance figures (alignment, gaps, duplicates, warmup shortfall) that go
//! to meta.json.
//!
//! The sources (`csv`, `parquet`, `frame`) only decode; windowing, validation and duplicate
//! handling live in `side`, so every source accepts and rejects exactly the same data, and the
//! same bars as files or as frames load identically. Bid and ask are read in parallel on two
//! threads; errors are those of reading them one after the other (the bid side's first).
//!
//! Governance counts (alignment, duplicates) cover the requested range `[start_ns, end_ns)`;
//! warmup rows are loaded but not counted, so the figures do not depend on how far back the
//! loader had to look.
//!
//! # Price scale
//!
//! Every loaded price (Open, High, Low, Close of both sides) must lie in
//! `[pip_size, pip_size * 1e9]` for the symbol's pip size: from one pip to a billion pips
//! (EURUSD, pip 0.0001: 0.0001 to 100,000; USDJPY, pip 0.01: 0.01 to 10,000,000). A price
//! outside is `data.price_scale`: the data is in another unit (e.g. scaled by a power of ten)
//! or belongs to another symbol, and a backtest on it would compute nonsense (negative exit
//! prices, absurd sizes) without any other error.
//!
//! # Frames
//!
//! [`DataSource::Frames`] takes each side as borrowed columns ([`SideArrays`]): bar open times
//! as int64 nanoseconds since the epoch (UTC) and float64 Open, High, Low, Close, rows sorted by
//! time. Messages name the frame (`bid frame` / `ask frame`), the row as its 0-based position
//! (like pandas `iloc`) with its timestamp, and the column; `i64::MIN` (pandas `NaT`) is a
//! missing timestamp (`data.null_value`).
//!
//! A frame side is identified in the manifest by a [`FileDigest`] with name
//! `{SYMBOL}_{TF}_{BID|ASK}.frame`, path `<in-memory bid frame>` (or `ask`), and the size and
//! SHA-256 of its canonical byte layout, which covers all rows as given (before windowing):
//!
//! 1. the 18 ASCII bytes `omega-v2 frame v1\n`;
//! 2. the row count `n` as u64, little-endian;
//! 3. the `n` timestamps as i64, little-endian;
//! 4. the `n` Open prices as f64 (IEEE 754 binary64), little-endian; then all High, all Low
//!    and all Close prices the same way.
//!
//! So `bytes = 26 + 40 * n`. The same rows always give the same digest, whatever the memory
//! layout of the frame they came from.

mod align;
mod cache;
mod calendar;
pub mod csv;
mod frame;
mod load;
mod manifest;
mod messages;
pub mod parquet;
mod side;
pub mod synth;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{EngineError, ErrorCode, Result};
use crate::market::{Bars, Timeframe};

pub use cache::{LoadCache, Served, CAPACITY as CACHE_CAPACITY};
pub use frame::frame_sha256;
pub use manifest::{file_digest, hex, manifest_sha256, sha256_file, sha256_hex, FileDigest};

/// What to load: one symbol and timeframe from `source`, the range `[start_ns, end_ns)` and the
/// number of bars before `start_ns` wanted for indicator warmup.
#[derive(Debug, Clone, Copy)]
pub struct LoadRequest<'a> {
    pub source: DataSource<'a>,
    pub symbol: &'a str,
    pub timeframe: Timeframe,
    pub start_ns: i64,
    /// Exclusive.
    pub end_ns: i64,
    pub warmup_bars: usize,
    /// The symbol's pip size: prices must lie in `[pip_size, pip_size * 1e9]` (module docs).
    pub pip_size: f64,
}

/// Where the bars come from.
#[derive(Debug, Clone, Copy)]
pub enum DataSource<'a> {
    /// `{root}/{SYMBOL}/{SYMBOL}_{TF}_{BID|ASK}.{parquet|csv}` (see [`data_file_path`]).
    Files { root: &'a Path },
    /// In-memory columns of each side (see the module docs).
    Frames { bid: SideArrays<'a>, ask: SideArrays<'a> },
}

/// One side's bars as borrowed columns of equal length (checked when loading): bar open times in
/// ns since the epoch (UTC) and the prices, one row per index, sorted by time.
#[derive(Clone, Copy)]
pub struct SideArrays<'a> {
    pub time_ns: &'a [i64],
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
}

impl SideArrays<'_> {
    /// Rows, by the time column.
    pub fn len(&self) -> usize {
        self.time_ns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time_ns.is_empty()
    }

    fn price_columns(&self) -> [&[f64]; 4] {
        [self.open, self.high, self.low, self.close]
    }
}

/// Lengths only: a frame's values would flood any log line that prints a request.
impl std::fmt::Debug for SideArrays<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SideArrays")
            .field("time_ns", &self.time_ns.len())
            .field("open", &self.open.len())
            .field("high", &self.high.len())
            .field("low", &self.low.len())
            .field("close", &self.close.len())
            .finish()
    }
}

/// Aligned bars (warmup first) plus what meta.json needs to describe them.
#[derive(Debug, Clone)]
pub struct LoadedData {
    pub bars: Bars,
    /// Index of the first bar `>= start_ns`; bars before it are warmup.
    pub first_trading_index: usize,
    pub governance: Governance,
    /// Bid file first, then ask.
    pub files: Vec<FileDigest>,
}

/// `meta.json.dataset.governance`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Governance {
    pub alignment: Alignment,
    pub gaps: Gaps,
    pub duplicates_dropped: SideCounts,
    pub warmup_shortfall: WarmupShortfall,
}

/// Rows of each side in the requested range and what the inner join on timestamps kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alignment {
    pub bid_rows: usize,
    pub ask_rows: usize,
    pub aligned_rows: usize,
    pub dropped_bid_only: usize,
    pub dropped_ask_only: usize,
}

/// Missing bars against the expected calendar (see `calendar`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gaps {
    pub calendar: &'static str,
    pub expected_bars: usize,
    pub missing_bars: usize,
    pub gap_count: usize,
    pub largest_gap_bars: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SideCounts {
    pub bid: usize,
    pub ask: usize,
}

/// Warmup bars asked for, found, and missing (a shortfall is reported, never an error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WarmupShortfall {
    pub requested_bars: usize,
    pub available_bars: usize,
    pub shortfall_bars: usize,
}

/// Price side of a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Bid,
    Ask,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Bid => "BID",
            Side::Ask => "ASK",
        }
    }
}

/// Data file format; parquet is preferred when both exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

/// `{root}/{SYMBOL}/{SYMBOL}_{TF}_{SIDE}.{ext}` of one format (no existence check).
pub fn expected_path(root: &Path, symbol: &str, tf: Timeframe, side: Side, format: Format) -> PathBuf {
    root.join(symbol).join(format!("{symbol}_{}_{}.{}", tf.as_str(), side.as_str(), format.extension()))
}

/// The data file of one side: parquet when it exists, else CSV; neither is `data.missing_file`
/// naming both expected paths.
pub fn data_file_path(root: &Path, symbol: &str, tf: Timeframe, side: Side) -> Result<PathBuf> {
    check_symbol(symbol)?;
    let parquet = expected_path(root, symbol, tf, side, Format::Parquet);
    let csv = expected_path(root, symbol, tf, side, Format::Csv);
    if parquet.is_file() {
        return Ok(parquet);
    }
    if csv.is_file() {
        return Ok(csv);
    }
    Err(EngineError::new(
        ErrorCode::DataMissingFile,
        format!(
            "no {} data for {symbol} {}: expected {} or {}; check the data root (--data-root / OMEGA_DATA_ROOT)",
            side.as_str(),
            tf.as_str(),
            parquet.display(),
            csv.display()
        ),
    )
    .with_file(&parquet)
    .with("expected_csv", csv.display()))
}

/// The symbol becomes a path component, so it must not be able to leave the data root.
fn check_symbol(symbol: &str) -> Result<()> {
    let valid = !symbol.is_empty()
        && !symbol.starts_with('.')
        && symbol.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(EngineError::new(
            ErrorCode::DataInvalidSymbol,
            "the symbol may contain only letters, digits, '_', '-' and '.', and must not start with '.'",
        ))
    }
}

/// Loads, validates and aligns the bid/ask bars of `req` (see the module docs).
///
/// Warmup: each side keeps at most `warmup_bars` rows before `start_ns`, searched from
/// `start - (3 * warmup_bars * timeframe + 7 days)` (which covers weekends and ordinary holes);
/// rows older than that bound are not decoded (parquet row groups are skipped by their
/// statistics) and only the newest candidates are kept, so memory stays proportional to the
/// rows needed, even for a ten-year file read for one year, and aligned data never has to be
/// shifted. If the join then leaves a warmup shortfall while rows were left out (bid and ask
/// disagree before the start, or a hole longer than the lookback), the sources are read again
/// without the row cap and, if the time bound left rows out, with 8x the lookback per pass.
/// The digests for the manifest are computed on the two reading threads once their side is read.
pub fn load(req: &LoadRequest) -> Result<LoadedData> {
    load_cancellable(req, &|| false)
}

/// [`load`] that polls `cancelled` between the expensive steps (after each parallel read of
/// both sides), so Ctrl-C during a long load is noticed promptly.
pub fn load_cancellable(req: &LoadRequest, cancelled: &dyn Fn() -> bool) -> Result<LoadedData> {
    if req.start_ns >= req.end_ns {
        return Err(EngineError::new(
            ErrorCode::DataNoBars,
            format!(
                "the requested range [{}, {}) is empty; the start must be before the end",
                crate::timefmt::format_iso(req.start_ns),
                crate::timefmt::format_iso(req.end_ns)
            ),
        ));
    }
    match req.source {
        DataSource::Files { root } => {
            let bid = data_file_path(root, req.symbol, req.timeframe, Side::Bid)?;
            let ask = data_file_path(root, req.symbol, req.timeframe, Side::Ask)?;
            load::load_pair(req, [load::SideInput::File(&bid), load::SideInput::File(&ask)], cancelled)
        }
        DataSource::Frames { bid, ask } => {
            frame::check_shape(Side::Bid, &bid)?;
            frame::check_shape(Side::Ask, &ask)?;
            let inputs = [load::SideInput::Frame(Side::Bid, bid), load::SideInput::Frame(Side::Ask, ask)];
            load::load_pair(req, inputs, cancelled)
        }
    }
}

/// Writes a file through `write` under a temporary sibling name, syncs it and renames it into
/// place, so a crash never leaves a partial file under the final name.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(std::io::BufWriter<std::fs::File>) -> Result<std::fs::File>,
) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = std::fs::File::create(&tmp)
        .map_err(|e| EngineError::output_io("create", &tmp, &e))
        .and_then(|file| write(std::io::BufWriter::with_capacity(1 << 16, file)))
        .and_then(|file| file.sync_all().map_err(|e| EngineError::output_io("sync", &tmp, &e)))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| EngineError::output_io("rename", path, &e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Flushes a buffered writer and returns the file (for [`write_atomically`] callbacks).
pub(crate) fn finish_buffered(mut out: std::io::BufWriter<std::fs::File>, path: &Path) -> Result<std::fs::File> {
    out.flush().map_err(|e| EngineError::output_io("write", path, &e))?;
    out.into_inner().map_err(|e| EngineError::output_io("write", path, e.error()))
}
