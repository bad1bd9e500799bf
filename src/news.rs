//! News calendar for the entry filter: a CSV named by `OMEGA_NEWS_CALENDAR_FILE` with columns
//! `UTC time,currency,impact` (impact `low|medium|high`; other columns ignored). Events turn
//! into merged blackout intervals `[event - before, event + after]`.

use std::path::Path;

use crate::config::{Impact, NewsFilter};
use crate::error::{quote, EngineError, ErrorCode, Result};
use crate::specs::SpecSource;
use crate::timefmt::{parse_timestamp, NANOS_PER_MINUTE};

pub const CALENDAR_ENV: &str = "OMEGA_NEWS_CALENDAR_FILE";

/// The news blackouts of a run and the calendar file they came from (for the manifest).
#[derive(Debug)]
pub struct NewsCalendar {
    pub blackouts: Vec<(i64, i64)>,
    pub source: SpecSource,
}

/// Blackout intervals for `currencies` from the calendar file in the environment.
pub fn blackouts_from_env(filter: &NewsFilter, currencies: &[String]) -> Result<NewsCalendar> {
    let path = std::env::var_os(CALENDAR_ENV).ok_or_else(|| {
        EngineError::new(
            ErrorCode::ConfigEnvironment,
            format!(
                "`news_filter.enabled` is true but the environment variable {CALENDAR_ENV} is not set; set it to a news calendar CSV (columns UTC time, currency, impact)"
            ),
        )
        .with("field", "news_filter.enabled")
    })?;
    blackouts(Path::new(&path), filter, currencies)
}

pub fn blackouts(path: &Path, filter: &NewsFilter, currencies: &[String]) -> Result<NewsCalendar> {
    // An unreadable file is a setting to fix (the env var), not bad data.
    let bytes = std::fs::read(path).map_err(|e| {
        EngineError::new(
            ErrorCode::ConfigEnvironment,
            format!("cannot read the news calendar {} (set by {CALENDAR_ENV}): {e}", path.display()),
        )
        .with_file(path)
        .with("field", "news_filter.enabled")
    })?;
    let source = SpecSource { name: path.display().to_string(), sha256: crate::data::sha256_hex(&bytes) };
    Ok(NewsCalendar { blackouts: parse(&bytes, path, filter, currencies)?, source })
}

fn parse(bytes: &[u8], path: &Path, filter: &NewsFilter, currencies: &[String]) -> Result<Vec<(i64, i64)>> {
    let bad =
        |row: usize, what: String| EngineError::new(ErrorCode::DataNewsCalendar, what).with_file(path).with("row", row);
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let headers = reader.headers().map_err(|e| bad(0, format!("bad header: {e}")))?.clone();
    let col = |name: &str| {
        headers.iter().position(|h| h.trim() == name).ok_or_else(|| {
            EngineError::new(
                ErrorCode::DataNewsCalendar,
                format!("news calendar {} has no `{name}` column", path.display()),
            )
            .with_file(path)
        })
    };
    let (c_time, c_ccy, c_impact) = (col("UTC time")?, col("currency")?, col("impact")?);
    let mut intervals = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        let record = record.map_err(|e| bad(row, format!("unreadable row: {e}")))?;
        let ccy = record.get(c_ccy).unwrap_or("").trim().to_ascii_uppercase();
        let impact = match record.get(c_impact).unwrap_or("").trim().to_ascii_lowercase().as_str() {
            "low" => Impact::Low,
            "medium" => Impact::Medium,
            "high" => Impact::High,
            other => return Err(bad(row, format!("impact must be low, medium or high, got `{}`", quote(other)))),
        };
        let t = parse_timestamp(record.get(c_time).unwrap_or(""))
            .map_err(|_| bad(row, "`UTC time` must be a timestamp with a UTC offset".to_owned()))?;
        if impact >= filter.min_impact && currencies.contains(&ccy) {
            intervals.push((t - filter.minutes_before * NANOS_PER_MINUTE, t + filter.minutes_after * NANOS_PER_MINUTE));
        }
    }
    Ok(merge(intervals))
}

fn merge(mut intervals: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    intervals.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(intervals.len());
    for (from, to) in intervals {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_impact_and_currency_and_merges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cal.csv");
        std::fs::write(
            &path,
            "UTC time,currency,impact,event\n\
             2025-01-06 13:30:00+00:00,USD,high,NFP\n\
             2025-01-06 13:45:00+00:00,EUR,high,Speech\n\
             2025-01-07 10:00:00+00:00,EUR,low,Minor\n\
             2025-01-08 10:00:00+00:00,JPY,high,BoJ\n",
        )
        .unwrap();
        let filter = NewsFilter {
            enabled: true,
            minutes_before: 30,
            minutes_after: 15,
            min_impact: Impact::Medium,
            currencies: vec![],
        };
        let got = blackouts(&path, &filter, &["EUR".into(), "USD".into()]).unwrap().blackouts;
        let t = |s: &str| parse_timestamp(s).unwrap();
        // 13:00-13:45 and 13:15-14:00 merge; the low-impact and JPY events are ignored
        assert_eq!(got, vec![(t("2025-01-06T13:00:00Z"), t("2025-01-06T14:00:00Z"))]);
    }

    #[test]
    fn bad_impact_names_the_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cal.csv");
        std::fs::write(&path, "UTC time,currency,impact\n2025-01-06 13:30:00+00:00,USD,huge\n").unwrap();
        let filter = NewsFilter {
            enabled: true,
            minutes_before: 1,
            minutes_after: 1,
            min_impact: Impact::Low,
            currencies: vec![],
        };
        let err = blackouts(&path, &filter, &["USD".into()]).unwrap_err();
        assert_eq!(err.context.get("row").map(String::as_str), Some("1"));
    }
}
