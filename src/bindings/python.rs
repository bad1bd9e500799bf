use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

use super::errors::to_py_err;
use crate::datasets::{self, SynthRequest};
use crate::error::EngineError;
use crate::run::{execute, RunContext};

/// How often a run on the main thread lets Python handle pending signals (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

static LOG_RESET: OnceLock<pyo3_log::ResetHandle> = OnceLock::new();

/// Cancels a run from any thread: `token.cancel()` makes the run raise `RunCancelled`.
#[pyclass(module = "omega_v2._core", frozen)]
#[derive(Default)]
struct CancelToken {
    flag: Arc<AtomicBool>,
}

#[pymethods]
impl CancelToken {
    #[new]
    fn new() -> Self {
        Self::default()
    }
    fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }
    #[getter]
    fn cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}

/// Runs one backtest: `config_json` is the normalised config, `context` a dict matching
/// `RunContext`. Returns the run summary as a dict.
#[pyfunction]
#[pyo3(signature = (config_json, context, cancel_token=None))]
fn run(
    py: Python<'_>,
    config_json: &str,
    context: &Bound<'_, PyAny>,
    cancel_token: Option<&CancelToken>,
) -> PyResult<Py<PyAny>> {
    let ctx: RunContext = pythonize::depythonize(context).map_err(|e| {
        to_py_err(py, &EngineError::config("config.context", format!("invalid run context: {e}")), None)
    })?;
    let flag = cancel_token.map(|t| t.flag.clone()).unwrap_or_default();
    let on_main_thread = is_main_thread(py)?;
    let outcome = py.detach(|| {
        let last_poll = Cell::new(Instant::now());
        let cancelled = || {
            if flag.load(Ordering::Relaxed) {
                return true;
            }
            // CPython runs signal handlers only on the main thread; elsewhere use the token.
            if on_main_thread && last_poll.get().elapsed() >= SIGNAL_POLL {
                last_poll.set(Instant::now());
                if Python::attach(|py| py.check_signals()).is_err() {
                    flag.store(true, Ordering::Relaxed);
                    return true;
                }
            }
            false
        };
        execute(config_json, &ctx, &cancelled)
    });
    match outcome {
        Ok(summary) => Ok(pythonize::pythonize(py, &summary)?.unbind()),
        Err(e) => Err(to_py_err(py, &e, Some(&ctx.run_id))),
    }
}

fn is_main_thread(py: Python<'_>) -> PyResult<bool> {
    let threading = py.import("threading")?;
    let current = threading.call_method0("current_thread")?;
    let main = threading.call_method0("main_thread")?;
    Ok(current.is(&main))
}

/// Writes a seeded synthetic bid/ask dataset; returns the written file paths.
#[pyfunction]
#[allow(clippy::too_many_arguments)] // mirrors the Python keyword arguments one to one
#[pyo3(signature = (root, start_date, end_date, *, symbol = "EURUSD", seed = 7, timeframes = vec!["M1".to_owned()], format = "parquet"))]
fn generate_synthetic_data(
    py: Python<'_>,
    root: std::path::PathBuf,
    start_date: &str,
    end_date: &str,
    symbol: &str,
    seed: u64,
    timeframes: Vec<String>,
    format: &str,
) -> PyResult<Vec<std::path::PathBuf>> {
    let request = SynthRequest { root: &root, symbol, start_date, end_date, seed, timeframes: &timeframes, format };
    py.detach(|| datasets::generate(&request)).map_err(|e| to_py_err(py, &e, None))
}

/// Forgets cached Python loggers and levels after Python logging was reconfigured.
#[pyfunction]
fn reset_log_cache() {
    if let Some(handle) = LOG_RESET.get() {
        handle.reset();
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Rust records outside any run reach Python `logging` under `omega_v2.*`; pprof's own
    // start/stop chatter is kept out. Installed before the router, which reads log's level.
    let logger = pyo3_log::Logger::new(m.py(), pyo3_log::Caching::LoggersAndLevels)?
        .filter_target("pprof".to_owned(), log::LevelFilter::Warn);
    if let Ok(handle) = logger.install() {
        let _ = LOG_RESET.set(handle);
    }
    crate::observability::init_global();
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(reset_log_cache, m)?)?;
    m.add_function(wrap_pyfunction!(generate_synthetic_data, m)?)?;
    m.add_class::<CancelToken>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
