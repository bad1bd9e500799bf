//! Market data (SPEC 3): resolves the bid/ask files of a symbol and timeframe, reads only the
//! rows a run needs (date range + warmup), validates them, aligns bid and ask, and reports the
//! governance figures (alignment, gaps, duplicates, warmup shortfall) that go to meta.json.
//!
//! The format readers (`csv`, `parquet`) only decode; windowing, validation and duplicate
//! handling live in `side`, so both formats accept and reject exactly the same data.
//!
//! Governance counts (alignment, duplicates) cover the requested range `[start_ns, end_ns)`;
//! warmup rows are loaded but not counted, so the figures do not depend on how far back the
//! loader had to look.

mod align;
mod calendar;
pub mod csv;
mod manifest;
pub mod parquet;
mod side;
pub mod synth;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::market::{Bars, Timeframe};
use crate::timefmt::NANOS_PER_DAY;

pub use manifest::{file_digest, hex, manifest_sha256, sha256_file, sha256_hex, FileDigest};

/// What to load: one symbol and timeframe, the range `[start_ns, end_ns)` and the number of
/// bars before `start_ns` wanted for indicator warmup.
#[derive(Debug, Clone, Copy)]
pub struct LoadRequest<'a> {
    pub root: &'a Path,
    pub symbol: &'a str,
    pub timeframe: Timeframe,
    pub start_ns: i64,
    /// Exclusive.
    pub end_ns: i64,
    pub warmup_bars: usize,
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
    Err(EngineError::data(
        "data.missing_file",
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
        Err(EngineError::data(
            "data.invalid_symbol",
            "the symbol may contain only letters, digits, '_', '-' and '.', and must not start with '.'",
        ))
    }
}

/// Loads, validates and aligns the bid/ask bars of `req` (see the module docs and SPEC 3).
///
/// Warmup: each side keeps at most `warmup_bars` rows before `start_ns`, searched from
/// `start - (3 * warmup_bars * timeframe + 7 days)` (which covers weekends and ordinary holes);
/// rows older than that bound are not decoded (parquet row groups are skipped by their
/// statistics) and only the newest candidates are kept, so memory stays proportional to the
/// rows needed, even for a ten-year file read for one year, and aligned data never has to be
/// shifted. If the join then leaves a warmup shortfall while rows were left out (bid and ask
/// disagree before the start, or a hole longer than the lookback), the files are read again
/// without the row cap and, if the time bound left rows out, with 8x the lookback per pass.
/// The file hashes for the manifest are computed on a second thread while the rows are read.
pub fn load(req: &LoadRequest) -> Result<LoadedData> {
    load_cancellable(req, &|| false)
}

/// [`load`] that polls `cancelled` between the expensive steps (each side's read, alignment),
/// so Ctrl-C during a long load is noticed promptly.
pub fn load_cancellable(req: &LoadRequest, cancelled: &dyn Fn() -> bool) -> Result<LoadedData> {
    if req.start_ns >= req.end_ns {
        return Err(EngineError::data(
            "data.no_bars",
            format!(
                "the requested range [{}, {}) is empty; the start must be before the end",
                crate::timefmt::format_iso(req.start_ns),
                crate::timefmt::format_iso(req.end_ns)
            ),
        ));
    }
    let bid_path = data_file_path(req.root, req.symbol, req.timeframe, Side::Bid)?;
    let ask_path = data_file_path(req.root, req.symbol, req.timeframe, Side::Ask)?;
    std::thread::scope(|scope| {
        let hashing = scope.spawn(|| [&bid_path, &ask_path].map(|p| file_digest(p)));
        let loaded = load_bars(req, &bid_path, &ask_path, cancelled);
        let digests = hashing
            .join()
            .map_err(|_| EngineError::new(crate::error::ErrorCode::InternalPanic, "file hashing panicked"))?;
        let (bars, first_trading_index, governance) = loaded?;
        let [bid, ask] = digests;
        Ok(LoadedData { bars, first_trading_index, governance, files: vec![bid?, ask?] })
    })
}

fn load_bars(
    req: &LoadRequest,
    bid_path: &Path,
    ask_path: &Path,
    cancelled: &dyn Fn() -> bool,
) -> Result<(Bars, usize, Governance)> {
    let check = || if cancelled() { Err(EngineError::cancelled()) } else { Ok(()) };
    let mut lookback = initial_lookback(req);
    let mut keep_before = req.warmup_bars;
    loop {
        let window = side::Window {
            lower: req.start_ns.saturating_sub(lookback),
            start: req.start_ns,
            end: req.end_ns,
            step_ns: req.timeframe.nanos(),
            keep_before,
        };
        let bid = read_side(bid_path, window)?;
        check()?;
        let ask = read_side(ask_path, window)?;
        check()?;
        let skipped = [bid.skipped, ask.skipped];
        let duplicates_dropped = SideCounts { bid: bid.duplicates, ask: ask.duplicates };
        let (bars, alignment, warmup) = align::align(bid, ask, req.start_ns, req.warmup_bars);
        if warmup.shortfall_bars > 0 {
            // Rows that might have filled the warmup were left out: read again without the row
            // cap and, if the time bound left rows out, with eight times the lookback.
            let capped = skipped.iter().any(|s| s.over_keep) && keep_before != usize::MAX;
            let bounded = skipped.iter().any(|s| s.before_lower) && lookback != i64::MAX;
            if capped || bounded {
                keep_before = usize::MAX;
                if bounded {
                    lookback = lookback.saturating_mul(8);
                }
                continue;
            }
        }
        let first_trading_index = warmup.available_bars;
        if first_trading_index == bars.len() {
            return Err(align::no_common_bars(bid_path, ask_path, req.start_ns, req.end_ns));
        }
        align::check_bid_not_above_ask(&bars, bid_path, ask_path)?;
        let gaps = calendar::fx_weekday_gaps(&bars.time_ns, req.timeframe);
        let governance = Governance { alignment, gaps, duplicates_dropped, warmup_shortfall: warmup };
        return Ok((bars, first_trading_index, governance));
    }
}

fn initial_lookback(req: &LoadRequest) -> i64 {
    if req.warmup_bars == 0 {
        return 0;
    }
    let bars = i64::try_from(req.warmup_bars).unwrap_or(i64::MAX);
    bars.saturating_mul(req.timeframe.nanos()).saturating_mul(3).saturating_add(7 * NANOS_PER_DAY)
}

fn read_side(path: &Path, window: side::Window) -> Result<side::SideData> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("parquet") => parquet::read_side(path, window),
        _ => csv::read_side(path, window),
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
