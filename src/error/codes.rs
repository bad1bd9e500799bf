//! The error-code catalogue: every code any part of omega-v2 raises (Rust engine, Python front,
//! CLI), with its kind and what it means. The one table: Python reads it through the extension
//! (`omega_v2.errors.Code`), the CLI derives exit codes from the kind, the user docs are
//! generated from it.

/// Error families; each maps to one Python exception class (see `bindings::errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    Config,
    Data,
    Execution,
    /// A user strategy (Python class or signals) failed: a kind of execution error.
    Strategy,
    Output,
    Cancelled,
    /// A run asked for by run_id does not exist.
    NotFound,
    /// A bug: a panic caught at the seam, or a broken internal invariant.
    Internal,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::Config,
        ErrorKind::Data,
        ErrorKind::Execution,
        ErrorKind::Strategy,
        ErrorKind::Output,
        ErrorKind::Cancelled,
        ErrorKind::NotFound,
        ErrorKind::Internal,
    ];

    /// Lowercase name, as exported to Python.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Data => "data",
            ErrorKind::Execution => "execution",
            ErrorKind::Strategy => "strategy",
            ErrorKind::Output => "output",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Internal => "internal",
        }
    }
}

macro_rules! catalogue {
    ($($variant:ident = ($code:literal, $kind:ident, $what:literal),)+) => {
        /// A stable, machine-readable error code (`OmegaError.code` in Python).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)+
        }

        impl ErrorCode {
            /// Every code, in catalogue order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            pub fn kind(self) -> ErrorKind {
                match self {
                    $(ErrorCode::$variant => ErrorKind::$kind,)+
                }
            }

            /// What the code means, for the user docs.
            pub fn description(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $what,)+
                }
            }
        }
    };
}

catalogue! {
    ConfigInvalid = ("config.invalid", Config, "A config field breaks its rule (type, range, format); the message names the field path and the rule."),
    ConfigUnsupported = ("config.unsupported", Config, "The config asks for a feature that is not implemented yet (tick data, the v1_parity variant, MRZ scenarios 4-6)."),
    ConfigUnknownKey = ("config.unknown_key", Config, "An unknown config key: a close misspelling of a known key, or any unknown key in strict mode."),
    ConfigStrategyParameter = ("config.strategy_parameter", Config, "A strategy parameter is unknown, has the wrong type or breaks its bound."),
    ConfigUnknownStrategy = ("config.unknown_strategy", Config, "`strategy_name` names no registered strategy."),
    ConfigStrategy = ("config.strategy", Config, "The strategy object or signals given to a run do not fit `strategy_name` (e.g. `python` without a strategy class)."),
    ConfigUnknownSymbol = ("config.unknown_symbol", Config, "The symbol has no entry in the symbol specs."),
    ConfigAccountCurrency = ("config.account_currency", Config, "The account currency is neither the base nor the quote currency of the symbol, so PnL cannot be converted."),
    ConfigEnvironment = ("config.environment", Config, "An environment setting is missing, invalid or points to a missing file (the news calendar, trace export)."),
    ConfigSpecsFile = ("config.specs_file", Config, "The symbol specs or execution costs file cannot be read or is invalid."),
    ConfigDataMismatch = ("config.data_mismatch", Config, "The in-memory market given to a run is for another symbol or timeframe than the config."),
    ConfigFileNotFound = ("config.file_not_found", Config, "The config file does not exist."),
    ConfigFileUnreadable = ("config.file_unreadable", Config, "The config file exists but cannot be read."),
    ConfigJsonInvalid = ("config.json_invalid", Config, "The config file is not valid UTF-8 JSON (the message gives line and column)."),
    ConfigRunId = ("config.run_id", Config, "A run_id is not a safe file name: it must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$, contain no `..` and not end in `.python`."),
    ConfigRustLog = ("config.rust_log", Config, "`RUST_LOG` holds a directive the engine cannot apply."),
    ConfigSynth = ("config.synth", Config, "A synthetic-data request is invalid (dates, timeframes, format, symbol)."),
    ConfigUsage = ("config.usage", Config, "Command-line usage error of the Rust binary."),
    DataInvalid = ("data.invalid", Data, "Market data violates the data contract (generic)."),
    DataMissingFile = ("data.missing_file", Data, "No data file for a symbol, timeframe and side; the message gives the expected paths."),
    DataMissingColumn = ("data.missing_column", Data, "A data file or frame lacks a required column."),
    DataMalformed = ("data.malformed", Data, "A data file cannot be decoded (bad CSV structure, corrupt parquet)."),
    DataBadValue = ("data.bad_value", Data, "A value cannot be parsed (a timestamp or price that is not a number)."),
    DataUnsupportedType = ("data.unsupported_type", Data, "A column has a type the engine does not read (e.g. prices stored as text)."),
    DataUnsupportedCodec = ("data.unsupported_codec", Data, "A parquet file uses a compression codec this build cannot decode."),
    DataNullValue = ("data.null_value", Data, "A required value is null/missing."),
    DataNonFinite = ("data.non_finite", Data, "A price is NaN or infinite."),
    DataNonPositive = ("data.non_positive", Data, "A price is zero or negative."),
    DataPriceScale = ("data.price_scale", Data, "A price is outside the plausible range for the symbol's pip size (data of another scale or symbol)."),
    DataOhlcInconsistent = ("data.ohlc_inconsistent", Data, "High is below max(Open, Close) or Low above min(Open, Close)."),
    DataNotIncreasing = ("data.not_increasing", Data, "Timestamps are not in increasing order."),
    DataDuplicateDivergent = ("data.duplicate_divergent", Data, "Two rows share a timestamp but differ in prices."),
    DataNaiveTimestamp = ("data.naive_timestamp", Data, "A timestamp has no UTC offset or time zone; the engine never guesses one."),
    DataBidAboveAsk = ("data.bid_above_ask", Data, "After alignment, bid is above ask on Open or Close."),
    DataNoBars = ("data.no_bars", Data, "No bars in the requested date range."),
    DataNotEnoughBars = ("data.not_enough_bars", Data, "Too few bars left once the warmup and the strategy's indicators are served."),
    DataInvalidSymbol = ("data.invalid_symbol", Data, "The symbol cannot be used as a data path component."),
    DataNewsCalendar = ("data.news_calendar", Data, "The news calendar file cannot be read or has an invalid row."),
    DataSignals = ("data.signals", Data, "A signals frame is invalid: misaligned rows, wrong dtypes, NaN in boolean columns."),
    DataFrameShape = ("data.frame_shape", Data, "The columns of an in-memory frame differ in length."),
    DataInvalidPipSize = ("data.invalid_pip_size", Data, "The symbol's pip size is not a positive finite number, so prices cannot be checked for scale."),
    DataFrame = ("data.frame", Data, "An in-memory frame cannot be used: wrong type, dtype or index."),
    DataChanged = ("data.changed", Data, "A data file differs from the one a run recorded in its manifest (replay, explain)."),
    DataIo = ("data.io", Data, "A data file cannot be read (permissions, I/O error)."),
    ExecutionFailed = ("execution.failed", Execution, "The backtest failed while running (generic)."),
    ExecutionNotReproduced = ("execution.not_reproduced", Execution, "A replay or explain did not reproduce the recorded run."),
    StrategyFailed = ("strategy.failed", Strategy, "A user strategy raised an exception in `init` or `on_bar`; the message names the bar index and time."),
    StrategyInvalidAction = ("strategy.invalid_action", Strategy, "A user strategy returned something that is not None, Exit, Enter or Reverse, or an order with invalid fields."),
    OutputFailed = ("output.failed", Output, "Artefacts or logs could not be written (generic)."),
    OutputIo = ("output.io", Output, "A file or directory under the var dir cannot be created or written (permissions, disk full); the message names the path."),
    OutputExists = ("output.exists", Output, "The run_id is already used: its run directory or one of its log files exists, or a run with it is active."),
    OutputUnsafePath = ("output.unsafe_path", Output, "An output path is a symbolic link or otherwise unsafe to write through."),
    RunCancelled = ("run.cancelled", Cancelled, "The run was cancelled (Ctrl-C, SIGTERM or a cancel token)."),
    RunNotFound = ("run.not_found", NotFound, "No completed run with that run_id (or directory) exists."),
    RunUnreadable = ("run.unreadable", NotFound, "A run directory is incomplete, or one of its recorded files cannot be read or is not what omega-v2 wrote (replay, explain)."),
    Internal = ("internal", Internal, "An unexpected internal failure."),
    InternalPanic = ("internal.panic", Internal, "A bug in the engine was caught; the run was aborted and marked failed in its logs."),
    InternalSubscriber = ("internal.subscriber_taken", Internal, "Another global tracing subscriber was installed before omega-v2's, so runs cannot log."),
}

impl ErrorCode {
    /// The code with this string, if it is in the catalogue.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code)
    }
}

/// A code equals its catalogue string (`ErrorCode::DataIo == "data.io"`).
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_prefixed_by_their_kind() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {code}");
            let family = code.as_str().split('.').next().unwrap();
            let expected = match code.kind() {
                ErrorKind::Cancelled | ErrorKind::NotFound => "run",
                kind => kind.as_str(),
            };
            assert_eq!(family, expected, "{code}");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
        assert_eq!(ErrorCode::parse("nope"), None);
    }
}
