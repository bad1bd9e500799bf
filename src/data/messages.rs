//! Where a data error happened (the file or frame, the row) and how input is quoted in its
//! message. Every message that quotes input goes through [`quoted`], [`listed`] or [`price`], so
//! a 10 MB cell or a header of 200,000 columns still yields a message of bounded length.

use std::fmt;
use std::path::Path;

use super::Side;
use crate::error::{EngineError, ErrorCode};
use crate::timefmt::format_iso;

/// Characters quoted from one input field before it is cut.
pub(crate) const MAX_QUOTED_CHARS: usize = 64;
/// Items quoted from a list before the rest is only counted.
pub(crate) const MAX_LISTED_ITEMS: usize = 8;
/// Characters kept of a decoder's own error text (which may echo bytes of the file).
pub(crate) const MAX_DETAIL_CHARS: usize = 256;

/// Where the rows of one side come from: a data file, or an in-memory frame.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Origin<'a> {
    File(&'a Path),
    Frame(Side),
}

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Frame(side) => write!(f, "{} frame", side.as_str().to_ascii_lowercase()),
        }
    }
}

impl Origin<'_> {
    /// Adds the origin to an error's context: `file` (the path) or `frame` (`bid` / `ask`).
    pub fn locate(self, err: EngineError) -> EngineError {
        match self {
            Origin::File(path) => err.with_file(path),
            Origin::Frame(side) => err.with("frame", side.as_str().to_ascii_lowercase()),
        }
    }
}

/// A row's position for error messages: in a file the 1-based data row plus the CSV line or the
/// parquet row group; in a frame the 0-based position (like pandas `iloc`) plus its timestamp.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowRef {
    pub row: u64,
    pub detail: RowDetail,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum RowDetail {
    Line(u64),
    RowGroup(usize),
    FrameTime(i64),
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.detail {
            RowDetail::Line(line) => write!(f, "row {} (line {line})", self.row),
            RowDetail::RowGroup(group) => write!(f, "row {} (row group {group})", self.row),
            // i64::MIN is pandas' NaT.
            RowDetail::FrameTime(i64::MIN) => write!(f, "row {} (NaT)", self.row),
            RowDetail::FrameTime(ns) => write!(f, "row {} ({})", self.row, format_iso(ns)),
        }
    }
}

/// A data error located at a row (and optionally a column) of `origin`.
pub(crate) fn row_error(
    code: ErrorCode,
    origin: Origin,
    at: RowRef,
    column: Option<&str>,
    what: impl fmt::Display,
) -> EngineError {
    let column_part = column.map(|c| format!(", column `{c}`")).unwrap_or_default();
    let separator = match origin {
        Origin::File(_) => ":",
        Origin::Frame(_) => ",",
    };
    let mut err = origin
        .locate(EngineError::new(code, format!("{origin}{separator} {at}{column_part}: {what}")))
        .with("row", at.row);
    if let RowDetail::Line(line) = at.detail {
        err = err.with("line", line);
    }
    match column {
        Some(c) => err.with("column", c),
        None => err,
    }
}

/// A data error about a whole file or frame (no row).
pub(crate) fn origin_error(code: ErrorCode, origin: Origin, what: impl fmt::Display) -> EngineError {
    origin.locate(EngineError::new(code, format!("{origin}: {what}")))
}

/// A data error about a whole file.
pub(crate) fn file_error(code: ErrorCode, path: &Path, what: impl fmt::Display) -> EngineError {
    origin_error(code, Origin::File(path), what)
}

/// An input field as a quoted string (`"text"`, escaped): at most [`MAX_QUOTED_CHARS`]
/// characters, the field's full size noted when it is cut.
pub(crate) fn quoted(raw: &[u8]) -> String {
    // A character takes at most four bytes, so this prefix holds every character quoted.
    let head = String::from_utf8_lossy(&raw[..raw.len().min(4 * MAX_QUOTED_CHARS)]);
    match head.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{:?}... ({} bytes)", &head[..cut], raw.len()),
        None if head.len() < raw.len() => format!("{head:?}... ({} bytes)", raw.len()),
        None => format!("{head:?}"),
    }
}

/// Names as `` `a`, `b`, ... and N more ``: the first [`MAX_LISTED_ITEMS`], each cut to
/// [`MAX_QUOTED_CHARS`] characters, then how many more there are.
pub(crate) fn listed<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = names.len();
    let mut out = names.take(MAX_LISTED_ITEMS).map(backticked).collect::<Vec<_>>().join(", ");
    if total > MAX_LISTED_ITEMS {
        out.push_str(&format!(" and {} more", total - MAX_LISTED_ITEMS));
    }
    out
}

/// A library's error text (a CSV or parquet decoder failure), cut to [`MAX_DETAIL_CHARS`].
pub(crate) fn detail(err: impl fmt::Display) -> String {
    let mut text = err.to_string();
    if let Some((cut, _)) = text.char_indices().nth(MAX_DETAIL_CHARS) {
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

fn backticked(name: &str) -> String {
    match name.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("`{}...` ({} bytes)", &name[..cut], name.len()),
        None => format!("`{name}`"),
    }
}

/// A price for a message: plain decimals for ordinary magnitudes, scientific notation otherwise
/// (`{}` would spell out 1e-300 with 300 zeros).
pub(crate) fn price(value: f64) -> impl fmt::Display {
    struct Price(f64);
    impl fmt::Display for Price {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let magnitude = self.0.abs();
            if magnitude == 0.0 || !magnitude.is_finite() || (1e-6..1e15).contains(&magnitude) {
                write!(f, "{}", self.0)
            } else {
                write!(f, "{:e}", self.0)
            }
        }
    }
    Price(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_are_cut_and_sized() {
        assert_eq!(quoted(b"abc"), "\"abc\"");
        assert_eq!(quoted(b""), "\"\"");
        let long = vec![b'x'; 10 << 20];
        let q = quoted(&long);
        assert_eq!(q, format!("\"{}\"... (10485760 bytes)", "x".repeat(MAX_QUOTED_CHARS)));
        // Multi-byte characters are never split, invalid bytes are replaced.
        let text = "é".repeat(100);
        assert!(quoted(text.as_bytes()).starts_with(&format!("\"{}\"...", "é".repeat(MAX_QUOTED_CHARS))));
        assert_eq!(quoted(&[0xff, b'a']), "\"\u{fffd}a\"");
    }

    #[test]
    fn lists_name_the_first_items_and_count_the_rest() {
        let names: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
        let text = listed(names.iter().map(String::as_str));
        assert_eq!(text, "`c0`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7` and 12 more");
        assert_eq!(listed(["a", "b"].into_iter()), "`a`, `b`");
        let long = "n".repeat(1000);
        assert_eq!(listed([long.as_str()].into_iter()), format!("`{}...` (1000 bytes)", "n".repeat(64)));
    }

    #[test]
    fn details_are_cut() {
        assert_eq!(detail("short"), "short");
        assert_eq!(detail("d".repeat(10_000)), format!("{}...", "d".repeat(MAX_DETAIL_CHARS)));
    }

    #[test]
    fn prices_use_scientific_notation_only_at_extreme_magnitudes() {
        assert_eq!(price(1.10005).to_string(), "1.10005");
        assert_eq!(price(-1.1).to_string(), "-1.1");
        assert_eq!(price(0.0).to_string(), "0");
        assert_eq!(price(1.1e-300).to_string(), "1.1e-300");
        assert_eq!(price(1.1e12).to_string(), "1100000000000");
        assert_eq!(price(3e20).to_string(), "3e20");
        assert_eq!(price(f64::NAN).to_string(), "NaN");
    }
}
