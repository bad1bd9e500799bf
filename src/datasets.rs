//! Synthetic datasets from user-facing arguments (dates as `YYYY-MM-DD`, timeframe names,
//! format name), shared by the binary's `synth` command and the Python binding.

use std::path::{Path, PathBuf};

use crate::data::{synth, Format};
use crate::error::{EngineError, ErrorCode, Result};
use crate::market::Timeframe;
use crate::specs;
use crate::timefmt::{day_of, parse_date, weekday, NANOS_PER_DAY};

pub struct SynthRequest<'a> {
    pub root: &'a Path,
    pub symbol: &'a str,
    /// Inclusive `YYYY-MM-DD` dates.
    pub start_date: &'a str,
    pub end_date: &'a str,
    pub seed: u64,
    pub timeframes: &'a [String],
    /// `parquet` or `csv`.
    pub format: &'a str,
}

/// Writes `{root}/{SYMBOL}/{SYMBOL}_{TF}_{BID|ASK}.{ext}` for every timeframe; returns the paths.
pub fn generate(req: &SynthRequest) -> Result<Vec<PathBuf>> {
    let bad = |field: &'static str, rule: &str| {
        EngineError::new(ErrorCode::ConfigSynth, format!("`{field}` {rule}")).with("field", field)
    };
    let start = parse_date(req.start_date).ok_or_else(|| bad("start_date", "must be YYYY-MM-DD"))?;
    let end = parse_date(req.end_date).ok_or_else(|| bad("end_date", "must be YYYY-MM-DD"))? + NANOS_PER_DAY;
    if start >= end {
        return Err(bad("start_date", "must not be after end_date"));
    }
    let timeframes = req
        .timeframes
        .iter()
        .map(|s| serde_json::from_value::<Timeframe>(serde_json::Value::String(s.trim().to_ascii_uppercase())))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| bad("timeframes", "must list M1, M5, M15, M30, H1, H4 or D1"))?;
    let format = match req.format {
        "parquet" => Format::Parquet,
        "csv" => Format::Csv,
        _ => return Err(bad("format", "must be parquet or csv")),
    };
    let has_weekday = (day_of(start)..day_of(end)).any(|d| weekday(d) < 5);
    if !has_weekday {
        // Outside any run, so this reaches Python `logging` (pyo3-log) or nothing in the binary.
        tracing::warn!(
            start_date = req.start_date,
            end_date = req.end_date,
            "synthetic range holds no weekday: the files will have no bars"
        );
    }
    // Only symbols with specs: a run needs them, and the pip size sets the price scale.
    let symbol = req.symbol.trim().to_ascii_uppercase();
    let pip_size = specs::resolve(&symbol)?.symbol.pip_size;
    let spec = synth::SynthSpec::for_symbol(&symbol, pip_size, start, end, req.seed);
    synth::generate_dataset(&spec, req.root, &timeframes, format)
}
