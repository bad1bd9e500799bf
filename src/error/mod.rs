//! The engine's one error type. Every layer returns `Result<_, EngineError>`; the Python
//! bindings map each [`ErrorKind`] to one exception class in a single place
//! (`bindings::errors`), and every code comes from the catalogue in [`codes`].
//!
//! Messages say what went wrong, where (file, row, field path) and how to fix it. They never
//! carry config values other than the allowlisted fields (see `observability::redact`).

mod codes;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub use codes::{ErrorCode, ErrorKind};

/// An error with a stable machine-readable [`ErrorCode`] and structured context (`file`,
/// `row`, `field`, ...), rendered into the message by [`fmt::Display`].
#[derive(Debug, Clone, PartialEq)]
pub struct EngineError {
    pub code: ErrorCode,
    pub message: String,
    pub context: BTreeMap<&'static str, String>,
}

impl EngineError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), context: BTreeMap::new() }
    }

    pub fn cancelled() -> Self {
        Self::new(ErrorCode::RunCancelled, "run cancelled by the user")
    }

    pub fn kind(&self) -> ErrorKind {
        self.code.kind()
    }

    /// Adds a context entry (`file`, `row`, `column`, `field`, `path`, ...).
    pub fn with(mut self, key: &'static str, value: impl fmt::Display) -> Self {
        self.context.insert(key, value.to_string());
        self
    }

    pub fn with_file(self, path: &Path) -> Self {
        self.with("file", path.display())
    }

    /// An I/O failure on `path` while writing artefacts or logs.
    pub fn output_io(action: &str, path: &Path, err: &std::io::Error) -> Self {
        Self::new(
            ErrorCode::OutputIo,
            format!(
                "cannot {action} {}: {err}; check that the directory is writable and the disk has space",
                path.display()
            ),
        )
        .with_file(path)
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        let located: Vec<String> = ["file", "row", "column", "field"]
            .iter()
            .filter(|k| !self.message.contains(self.context.get(*k).map(String::as_str).unwrap_or("\u{0}")))
            .filter_map(|k| self.context.get(k).map(|v| format!("{k}={v}")))
            .collect();
        if !located.is_empty() {
            write!(f, " [{}]", located.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for EngineError {}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Input quoted in a message is cut to this many characters.
const QUOTE_CHARS: usize = 64;

/// `text` for quoting in a message: at most [`QUOTE_CHARS`] characters, with how much was cut,
/// so a huge cell or header cannot blow up a message (and every log that repeats it).
pub fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}... ({} bytes in all)", &text[..cut], text.len()),
    }
}

/// Items listed in a message before the rest are only counted.
const LISTED_ITEMS: usize = 8;

/// The first few `items` (each quoted with [`quote`]), then how many more there are.
pub fn quote_list<S: AsRef<str>>(items: &[S]) -> String {
    let shown: Vec<String> = items.iter().take(LISTED_ITEMS).map(|s| quote(s.as_ref())).collect();
    match items.len().saturating_sub(LISTED_ITEMS) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// `; did you mean `x`?` for the known name closest to `name`, or nothing when none is close.
pub fn did_you_mean<S: AsRef<str>>(name: &str, known: &[S]) -> String {
    known
        .iter()
        .map(|k| (strsim::normalized_damerau_levenshtein(name, k.as_ref()), k.as_ref()))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("; did you mean `{}`?", quote(k)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_known_name() {
        assert_eq!(did_you_mean("EURUDS", &["GBPUSD", "EURUSD", "USDJPY"]), "; did you mean `EURUSD`?");
        assert_eq!(did_you_mean("XAUUSD", &["EURJPY"]), "");
    }

    #[test]
    fn lists_are_bounded() {
        assert_eq!(quote_list(&["a", "b"]), "a, b");
        let many: Vec<String> = (0..200_000).map(|i| format!("c{i}")).collect();
        assert_eq!(quote_list(&many), "c0, c1, c2, c3, c4, c5, c6, c7 and 199992 more");
    }

    #[test]
    fn quotes_are_bounded() {
        assert_eq!(quote("High"), "High");
        let long = "x".repeat(10_000);
        let q = quote(&long);
        assert!(q.starts_with(&"x".repeat(64)) && q.ends_with("... (10000 bytes in all)"), "{q}");
        assert_eq!(quote(&"é".repeat(65)).chars().filter(|c| *c == 'é').count(), 64);
    }
}
