//! The engine's one error type. Every layer returns `Result<_, EngineError>`; the Python
//! bindings map each [`ErrorKind`] to one exception class in a single place.
//!
//! Messages say what went wrong, where (file, row, field path) and how to fix it. They never
//! carry config values other than the allowlisted fields (see SPEC 8.5).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Error families; each maps to one Python exception class (SPEC 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Config,
    Data,
    Execution,
    Output,
    Cancelled,
    /// A bug: a panic caught at the seam, or a broken internal invariant.
    Internal,
}

impl ErrorKind {
    /// Name of the Python exception class in `omega_v2.errors`.
    pub fn python_class(self) -> &'static str {
        match self {
            ErrorKind::Config => "ConfigError",
            ErrorKind::Data => "DataError",
            ErrorKind::Execution => "ExecutionError",
            ErrorKind::Output => "OutputError",
            ErrorKind::Cancelled => "RunCancelled",
            ErrorKind::Internal => "OmegaError",
        }
    }
}

/// An error with a stable machine-readable `code` (e.g. `data.missing_file`) and structured
/// context (`file`, `row`, `field`, ...), rendered into the message by [`fmt::Display`].
#[derive(Debug, Clone, PartialEq)]
pub struct EngineError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    pub context: BTreeMap<&'static str, String>,
}

impl EngineError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self { kind, code, message: message.into(), context: BTreeMap::new() }
    }
    pub fn config(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, code, message)
    }
    pub fn data(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, code, message)
    }
    pub fn execution(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Execution, code, message)
    }
    pub fn output(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Output, code, message)
    }
    pub fn internal(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, code, message)
    }
    pub fn cancelled() -> Self {
        Self::new(ErrorKind::Cancelled, "run.cancelled", "run cancelled by the user")
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
        Self::output(
            "output.io",
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
