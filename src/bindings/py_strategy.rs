//! A Python `omega_v2.Strategy` as one more engine strategy: built once the bars are loaded
//! (`init` gets read-only numpy views of them), then asked at each bar's close (`on_bar`), the
//! GIL taken for that call only. An exception or an invalid return fails the run with a
//! `StrategyError` naming the bar; the original exception becomes its cause.

use std::sync::{Arc, Mutex, PoisonError};

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::actions::{Enter, Exit, Reverse};
use super::buffers::to_numpy;
use crate::domain::{Action, Direction};
use crate::error::{quote, EngineError, ErrorCode, Result};
use crate::market::Bars;
use crate::strategy::{Strategy, StrategyInput, UserStrategy};
use crate::timefmt::format_iso;

/// The exception a strategy raised, kept for the caller (shared by the factory and its strategy).
type Failure = Arc<Mutex<Option<PyErr>>>;

pub struct PyUserStrategy {
    instance: Py<PyAny>,
    params: Py<PyAny>,
    name: String,
    failure: Failure,
}

impl PyUserStrategy {
    pub fn new(py: Python<'_>, instance: Py<PyAny>, params: Py<PyAny>) -> PyResult<Self> {
        let name = instance.bind(py).get_type().qualname()?.to_string();
        Ok(Self { instance, params, name, failure: Failure::default() })
    }

    /// The Python exception behind a `StrategyError`, if the strategy raised one.
    pub fn take_failure(&self) -> Option<PyErr> {
        self.failure.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl UserStrategy for PyUserStrategy {
    fn build<'b>(&self, input: &StrategyInput<'b>) -> Result<Box<dyn Strategy + 'b>> {
        Python::attach(|py| {
            let bars = bars_view(py, input.bars, input.start_index)
                .map_err(|e| self.fail(py, e, "building the bars for init", None))?;
            let instance = self.instance.bind(py);
            instance.call_method1("init", (bars, self.params.bind(py))).map_err(|e| self.fail(py, e, "init", None))?;
            let read = |name: &str| -> Result<usize> {
                instance
                    .getattr(name)
                    .and_then(|v| v.extract::<usize>())
                    .map_err(|e| self.fail(py, e, &format!("reading `{name}` (a non-negative int)"), None))
            };
            Ok(Box::new(PyStrategy {
                on_bar: instance.getattr("on_bar").map_err(|e| self.fail(py, e, "looking up on_bar", None))?.unbind(),
                first_signal: read("first_signal_index")?,
                cooldown: read("cooldown_bars")?,
                long: PyString::intern(py, "long").unbind(),
                short: PyString::intern(py, "short").unbind(),
                name: self.name.clone(),
                failure: Arc::clone(&self.failure),
                error: None,
            }) as Box<dyn Strategy>)
        })
    }
}

impl PyUserStrategy {
    fn fail(&self, py: Python<'_>, err: PyErr, during: &str, bar: Option<(usize, i64)>) -> EngineError {
        strategy_error(py, &self.name, err, during, bar, &self.failure)
    }
}

fn strategy_error(
    py: Python<'_>,
    name: &str,
    err: PyErr,
    during: &str,
    bar: Option<(usize, i64)>,
    failure: &Failure,
) -> EngineError {
    let what = quote(&err.value(py).repr().map_or_else(|_| "an exception".to_owned(), |r| r.to_string()));
    let at = bar.map(|(t, ns)| format!(" at bar {t} ({})", format_iso(ns))).unwrap_or_default();
    *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(err);
    let mut e =
        EngineError::new(ErrorCode::StrategyFailed, format!("strategy `{name}` raised in {during}{at}: {what}"));
    if let Some((t, ns)) = bar {
        e = e.with("bar", t).with("time", format_iso(ns));
    }
    e
}

/// `omega_v2.strategy.Bars` over copies of the run's columns (read-only numpy arrays that may
/// outlive the run).
fn bars_view<'py>(py: Python<'py>, bars: &Bars, start_index: usize) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("time_ns", to_numpy(py, &bars.time_ns, "<i8")?)?;
    for (side, ohlc) in [("bid", &bars.bid), ("ask", &bars.ask)] {
        for (field, values) in [("open", &ohlc.open), ("high", &ohlc.high), ("low", &ohlc.low), ("close", &ohlc.close)]
        {
            kwargs.set_item(format!("{side}_{field}"), to_numpy(py, values, "<f8")?)?;
        }
    }
    kwargs.set_item("start_index", start_index)?;
    py.import("omega_v2.strategy")?.getattr("Bars")?.call((), Some(&kwargs))
}

struct PyStrategy {
    on_bar: Py<PyAny>,
    first_signal: usize,
    cooldown: usize,
    long: Py<PyString>,
    short: Py<PyString>,
    name: String,
    failure: Failure,
    /// Set on the first failure; the strategy is not asked again.
    error: Option<EngineError>,
}

impl PyStrategy {
    fn action(&self, result: &Bound<'_, PyAny>, bars: &Bars, t: usize) -> std::result::Result<Action, String> {
        if result.is_none() {
            return Ok(Action::Hold);
        }
        if let Ok(enter) = result.cast::<Enter>() {
            return Ok(Action::Enter(enter.get().order.signal(bars, t)));
        }
        if let Ok(reverse) = result.cast::<Reverse>() {
            return Ok(Action::Reverse(reverse.get().order.signal(bars, t)));
        }
        if result.is_instance_of::<Exit>() {
            return Ok(Action::Exit);
        }
        let shown = result.repr().map_or_else(|_| "an object".to_owned(), |r| r.to_string());
        Err(format!("returned {}, which is not None, Exit(), Enter(...) or Reverse(...)", quote(&shown)))
    }
}

impl Strategy for PyStrategy {
    fn first_signal_index(&self) -> usize {
        self.first_signal
    }

    fn cooldown_bars(&self) -> usize {
        self.cooldown
    }

    fn decide(&mut self, t: usize, bars: &Bars, position: Option<Direction>) -> Action {
        if self.error.is_some() || t < self.first_signal {
            return Action::Hold;
        }
        Python::attach(|py| {
            let position = match position {
                None => py.None(),
                Some(Direction::Long) => self.long.clone_ref(py).into_any(),
                Some(Direction::Short) => self.short.clone_ref(py).into_any(),
            };
            let at = Some((t, bars.time_ns[t]));
            match self.on_bar.call1(py, (t, position)) {
                Err(err) => {
                    self.error = Some(strategy_error(py, &self.name, err, "on_bar", at, &self.failure));
                    Action::Hold
                }
                Ok(result) => self.action(result.bind(py), bars, t).unwrap_or_else(|what| {
                    let time = format_iso(bars.time_ns[t]);
                    let message = format!("strategy `{}` on_bar at bar {t} ({time}) {what}", self.name);
                    let error = EngineError::new(ErrorCode::StrategyInvalidAction, message);
                    self.error = Some(error.with("bar", t).with("time", time));
                    Action::Hold
                }),
            }
        })
    }

    fn failure(&mut self) -> Option<EngineError> {
        self.error.clone()
    }

    /// A Python `on_bar` costs a microsecond or more (a slow one milliseconds), so a check every
    /// 64 of them costs nothing, and a Ctrl-C or a raised exception stops the run soon.
    fn check_every_bars(&self) -> usize {
        64
    }
}
