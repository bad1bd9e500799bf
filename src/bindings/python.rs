//! The module `omega_v2._core`: the one call that runs a backtest (GIL released), the checks
//! and rules the Python front reads instead of restating them, and synthetic data.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::actions::{Enter, Exit, Reverse};
use super::buffers::{MarketBuffers, SignalBuffers};
use super::data_cache::DataCache;
use super::errors::to_py_err;
use super::hooks::{CancelToken, PyHooks, RunProgress};
use super::py_strategy::PyUserStrategy;
use crate::config::RunConfig;
use crate::datasets::{self, SynthRequest};
use crate::error::{ErrorCode, ErrorKind};
use crate::layout::{self, RunPaths};
use crate::output::meta::GitInfo;
use crate::output::stale;
use crate::run::{execute, explain as explain_trade, preflight, RunContext, RunInputs, Summary};
use crate::strategy::{SignalColumns, UserStrategy};

static LOG_RESET: OnceLock<pyo3_log::ResetHandle> = OnceLock::new();

/// Runs one backtest of the normalised config `config_json` and returns its summary.
#[pyfunction]
#[pyo3(signature = (config_json, *, run_id, config_hash, config_source, var_dir, data_root, log_to_stdout=false, rust_log=None, profile=false, git_commit=None, git_dirty=false, cancel_token=None, progress=None, before_commit=None, market=None, signals=None, strategy=None, strategy_params=None, strategy_identity=None, data_cache=None))]
#[allow(clippy::too_many_arguments)] // the keyword arguments are the typed seam
fn run(
    py: Python<'_>,
    config_json: &str,
    run_id: String,
    config_hash: String,
    config_source: String,
    var_dir: PathBuf,
    data_root: PathBuf,
    log_to_stdout: bool,
    rust_log: Option<String>,
    profile: bool,
    git_commit: Option<String>,
    git_dirty: bool,
    cancel_token: Option<&CancelToken>,
    progress: Option<&RunProgress>,
    before_commit: Option<Py<PyAny>>,
    market: Option<&Bound<'_, PyAny>>,
    signals: Option<&Bound<'_, PyAny>>,
    strategy: Option<Py<PyAny>>,
    strategy_params: Option<Py<PyAny>>,
    strategy_identity: Option<&Bound<'_, PyDict>>,
    data_cache: Option<&DataCache>,
) -> PyResult<Summary> {
    let ctx = RunContext {
        git: git_commit.map(|commit| GitInfo { commit, dirty: git_dirty }),
        run_id,
        config_hash,
        config_source,
        var_dir,
        data_root,
        log_to_stdout,
        rust_log,
        profile,
    };
    let held = HeldInputs::of(py, market, signals, strategy, strategy_params)?;
    let columns = held.signals.as_ref().map(SignalBuffers::columns);
    let mut inputs = held.inputs(columns.as_ref());
    inputs.user_identity = strategy_identity.map(|d| pythonize::depythonize(d)).transpose()?;
    inputs.data_cache = data_cache.map(|c| &c.inner);
    let on_main_thread = is_main_thread(py)?;
    let (outcome, failure) = py.detach(|| {
        let hooks = PyHooks::new(cancel_token, on_main_thread, progress, before_commit.as_ref());
        (execute(config_json, &ctx, &inputs, &hooks), hooks.take_failure())
    });
    outcome.map_err(|e| {
        failure.unwrap_or_else(|| {
            let err = to_py_err(py, &e, Some(&ctx.run_id));
            // A strategy's own exception stays reachable (and in dev tracebacks) as the cause.
            err.set_cause(py, held.user.as_ref().and_then(PyUserStrategy::take_failure));
            err
        })
    })
}

/// The story of trade `trade` (0-based, as in trades.json) of a rerun of `config_json`, as JSON.
#[pyfunction]
#[pyo3(signature = (config_json, *, data_root, trade, market=None, signals=None, strategy=None, strategy_params=None))]
#[allow(clippy::too_many_arguments)] // the keyword arguments are the typed seam
fn explain(
    py: Python<'_>,
    config_json: &str,
    data_root: PathBuf,
    trade: usize,
    market: Option<&Bound<'_, PyAny>>,
    signals: Option<&Bound<'_, PyAny>>,
    strategy: Option<Py<PyAny>>,
    strategy_params: Option<Py<PyAny>>,
) -> PyResult<String> {
    let held = HeldInputs::of(py, market, signals, strategy, strategy_params)?;
    let columns = held.signals.as_ref().map(SignalBuffers::columns);
    let inputs = held.inputs(columns.as_ref());
    let story = py.detach(|| explain_trade(config_json, &data_root, &inputs, trade));
    story.map(|v| v.to_string()).map_err(|e| {
        let err = to_py_err(py, &e, None);
        err.set_cause(py, held.user.as_ref().and_then(PyUserStrategy::take_failure));
        err
    })
}

/// The Python inputs of a run, held (buffers, the strategy object) for the call.
struct HeldInputs {
    market: Option<MarketBuffers>,
    signals: Option<SignalBuffers>,
    user: Option<PyUserStrategy>,
}

impl HeldInputs {
    fn of(
        py: Python<'_>,
        market: Option<&Bound<'_, PyAny>>,
        signals: Option<&Bound<'_, PyAny>>,
        strategy: Option<Py<PyAny>>,
        params: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        Ok(Self {
            market: market.map(MarketBuffers::of).transpose()?,
            signals: signals.map(SignalBuffers::of).transpose()?,
            user: strategy.map(|s| PyUserStrategy::new(py, s, params.unwrap_or_else(|| py.None()))).transpose()?,
        })
    }

    fn inputs<'a>(&'a self, columns: Option<&'a SignalColumns<'a>>) -> RunInputs<'a> {
        RunInputs {
            market: self.market.as_ref().map(MarketBuffers::frames),
            signals: columns,
            user: self.user.as_ref().map(|u| u as &(dyn UserStrategy + Sync)),
            user_identity: None,
            data_cache: None,
        }
    }
}

/// The sha256 the manifest and `meta.json.inputs` record for an in-memory market's sides and a
/// signals frame (`bid`, `ask`, `signals`; those given), to check them before a replay.
#[pyfunction]
#[pyo3(signature = (*, market=None, signals=None))]
fn input_digests(
    market: Option<&Bound<'_, PyAny>>,
    signals: Option<&Bound<'_, PyAny>>,
) -> PyResult<BTreeMap<&'static str, String>> {
    let mut digests = BTreeMap::new();
    if let Some(market) = market.map(MarketBuffers::of).transpose()? {
        let frames = market.frames();
        digests.insert("bid", crate::data::frame_sha256(&frames.bid));
        digests.insert("ask", crate::data::frame_sha256(&frames.ask));
    }
    if let Some(signals) = signals.map(SignalBuffers::of).transpose()? {
        digests.insert("signals", signals.columns().sha256());
    }
    Ok(digests)
}

/// Every check of a normalised config that needs no market data (what `validate` runs).
#[pyfunction]
fn check_config(py: Python<'_>, config_json: &str) -> PyResult<()> {
    RunConfig::from_json(config_json).and_then(|cfg| preflight(&cfg)).map(drop).map_err(|e| to_py_err(py, &e, None))
}

fn is_main_thread(py: Python<'_>) -> PyResult<bool> {
    let threading = py.import("threading")?;
    let current = threading.call_method0("current_thread")?;
    let main = threading.call_method0("main_thread")?;
    Ok(current.is(&main))
}

/// Raises `ConfigError` unless `run_id` is a safe file name.
#[pyfunction]
fn validate_run_id(py: Python<'_>, run_id: &str) -> PyResult<()> {
    layout::validate_run_id(run_id).map_err(|e| to_py_err(py, &e, None))
}

/// A new run_id: `<UTC start>-<first 8 hex of config_hash>-<8 random hex>`.
#[pyfunction]
fn new_run_id(config_hash: &str) -> String {
    layout::new_run_id(config_hash)
}

/// The var dir: `explicit`, else `$OMEGA_VAR_DIR`, else `./var`.
#[pyfunction]
#[pyo3(signature = (explicit=None))]
fn resolve_var_dir(explicit: Option<PathBuf>) -> PathBuf {
    layout::resolve_var_dir(explicit.as_deref())
}

/// The data root: `explicit`, else `fallback`, else `$OMEGA_DATA_ROOT` /
/// `$OMEGA_DATA_PARQUET_ROOT`, else `./data`.
#[pyfunction]
#[pyo3(signature = (explicit=None, fallback=None))]
fn resolve_data_root(explicit: Option<PathBuf>, fallback: Option<PathBuf>) -> PathBuf {
    layout::resolve_data_root(explicit.as_deref(), fallback.as_deref())
}

/// The allowlisted scalar fields of a config (JSON text), under their log names: the only
/// config values logs and messages may show.
#[pyfunction]
fn allowlisted_fields<'py>(py: Python<'py>, config_json: &str) -> PyResult<Bound<'py, PyAny>> {
    let value: serde_json::Value = serde_json::from_str(config_json)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("not JSON: line {}", e.line())))?;
    Ok(pythonize::pythonize(py, &crate::observability::allowlisted(&value))?)
}

/// `(code, kind, description)` of every error code (the one catalogue).
#[pyfunction]
fn error_catalogue() -> Vec<(&'static str, &'static str, &'static str)> {
    ErrorCode::ALL.iter().map(|c| (c.as_str(), c.kind().as_str(), c.description())).collect()
}

/// `(key, unit, description, domain, source, type)` of every metric of `metrics.json`, in order.
#[pyfunction]
fn metric_catalogue() -> Vec<(&'static str, &'static str, &'static str, &'static str, &'static str, &'static str)> {
    crate::metrics::CATALOGUE.iter().map(|(k, d)| (*k, d.unit, d.description, d.domain, d.source, d.kind)).collect()
}

/// Writes a seeded synthetic bid/ask dataset; returns the written file paths.
#[pyfunction]
#[allow(clippy::too_many_arguments)] // mirrors the Python keyword arguments one to one
#[pyo3(signature = (root, start_date, end_date, *, symbol = "EURUSD", seed = 7, timeframes = vec!["M1".to_owned()], format = "parquet"))]
fn generate_synthetic_data(
    py: Python<'_>,
    root: PathBuf,
    start_date: &str,
    end_date: &str,
    symbol: &str,
    seed: u64,
    timeframes: Vec<String>,
    format: &str,
) -> PyResult<Vec<PathBuf>> {
    let request = SynthRequest { root: &root, symbol, start_date, end_date, seed, timeframes: &timeframes, format };
    py.detach(|| datasets::generate(&request)).map_err(|e| to_py_err(py, &e, None))
}

/// What a var dir holds: every run_id with a log file, run directory or staging directory, and
/// every staging directory with its owner's state (`remove_stale`: those of dead runs removed).
#[pyfunction]
#[pyo3(signature = (var_dir, *, remove_stale))]
fn var_inventory<'py>(py: Python<'py>, var_dir: PathBuf, remove_stale: bool) -> PyResult<Bound<'py, PyDict>> {
    let results = layout::results_dir(&var_dir);
    let staging = py.detach(|| stale::sweep(&results, remove_stale)).map_err(|e| to_py_err(py, &e, None))?;
    let run_ids = layout::run_ids_under(&var_dir).map_err(|e| to_py_err(py, &e, None))?;
    let inventory = PyDict::new(py);
    inventory.set_item("run_ids", run_ids.into_iter().collect::<Vec<_>>())?;
    inventory.set_item("staging", pythonize::pythonize(py, &staging)?)?;
    Ok(inventory)
}

/// The unit a plain int64 timestamp seems to be in when it is not nanoseconds of 1973..2099
/// (`None` when it is): frames hold their times to the rule files do.
#[pyfunction]
fn implausible_ns_unit(value: i64) -> Option<&'static str> {
    crate::data::parquet::implausible_ns_unit(value)
}

/// Forgets cached Python loggers and levels after Python logging was reconfigured.
#[pyfunction]
fn reset_log_cache() {
    if let Some(handle) = LOG_RESET.get() {
        handle.reset();
    }
}

/// The rules and names the Python front reads from the engine instead of restating them.
fn add_constants(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ERROR_KINDS", PyTuple::new(py, ErrorKind::ALL.map(ErrorKind::as_str))?)?;
    m.add("LOG_ALLOWLIST", crate::observability::ALLOWLIST.to_vec())?;
    m.add("HEADLINE_METRICS", PyTuple::new(py, crate::metrics::HEADLINE)?)?;
    m.add("STRATEGIES", crate::strategy::REGISTERED.to_vec())?;
    m.add("IMPLEMENTED_MRZ_SCENARIOS", PyTuple::new(py, crate::strategy::IMPLEMENTED_MRZ_SCENARIOS)?)?;
    m.add("SYMBOL_SPECS_ENV", crate::specs::SYMBOL_SPECS_ENV)?;
    m.add("EXECUTION_COSTS_ENV", crate::specs::EXECUTION_COSTS_ENV)?;
    m.add("NEWS_CALENDAR_ENV", crate::news::CALENDAR_ENV)?;
    m.add("VAR_DIR_ENV", layout::VAR_DIR_ENV)?;
    m.add("DATA_ROOT_ENVS", PyTuple::new(py, layout::DATA_ROOT_ENVS)?)?;
    m.add("RESULT_ARTEFACTS", PyTuple::new(py, layout::RESULT_ARTEFACTS)?)?;
    let plausible = crate::data::parquet::PLAUSIBLE_NS;
    m.add("PLAUSIBLE_NS", (*plausible.start(), *plausible.end()))?;
    Ok(())
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Rust records outside any run reach Python `logging` under `omega_v2.*`. Installed before
    // the router, which reads log's level.
    let logger = pyo3_log::Logger::new(m.py(), pyo3_log::Caching::LoggersAndLevels)?;
    if let Ok(handle) = logger.install() {
        let _ = LOG_RESET.set(handle);
    }
    crate::observability::init_global();
    for function in [
        wrap_pyfunction!(run, m)?,
        wrap_pyfunction!(check_config, m)?,
        wrap_pyfunction!(explain, m)?,
        wrap_pyfunction!(validate_run_id, m)?,
        wrap_pyfunction!(new_run_id, m)?,
        wrap_pyfunction!(resolve_var_dir, m)?,
        wrap_pyfunction!(resolve_data_root, m)?,
        wrap_pyfunction!(input_digests, m)?,
        wrap_pyfunction!(error_catalogue, m)?,
        wrap_pyfunction!(allowlisted_fields, m)?,
        wrap_pyfunction!(metric_catalogue, m)?,
        wrap_pyfunction!(reset_log_cache, m)?,
        wrap_pyfunction!(implausible_ns_unit, m)?,
        wrap_pyfunction!(var_inventory, m)?,
        wrap_pyfunction!(generate_synthetic_data, m)?,
    ] {
        m.add_function(function)?;
    }
    let indicators = PyModule::new(m.py(), "indicators")?;
    for function in [
        wrap_pyfunction!(super::indicators::sma, &indicators)?,
        wrap_pyfunction!(super::indicators::ema, &indicators)?,
        wrap_pyfunction!(super::indicators::zscore, &indicators)?,
        wrap_pyfunction!(super::indicators::wilder_atr, &indicators)?,
        wrap_pyfunction!(super::indicators::bollinger, &indicators)?,
        wrap_pyfunction!(super::indicators::kalman, &indicators)?,
    ] {
        indicators.add_function(function)?;
    }
    m.add_submodule(&indicators)?;
    m.add_class::<CancelToken>()?;
    m.add_class::<DataCache>()?;
    m.add_class::<RunProgress>()?;
    m.add_class::<Enter>()?;
    m.add_class::<Reverse>()?;
    m.add_class::<Exit>()?;
    m.add_class::<RunPaths>()?;
    m.add_class::<Summary>()?;
    m.add_class::<crate::engine::Counters>()?;
    m.add_class::<crate::timing::PhaseTimings>()?;
    add_constants(m)
}
