//! The one place where engine errors become Python exceptions: each [`ErrorKind`] maps to one
//! class of `omega_v2.errors` (looked up once per interpreter), built with the message, run_id,
//! code and context.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::error::{EngineError, ErrorKind};

/// The Python class of each kind.
fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Config => "ConfigError",
        ErrorKind::Data => "DataError",
        ErrorKind::Execution => "ExecutionError",
        ErrorKind::Strategy => "StrategyError",
        ErrorKind::Output => "OutputError",
        ErrorKind::Cancelled => "RunCancelled",
        ErrorKind::NotFound => "RunNotFound",
        ErrorKind::Internal => "OmegaError",
    }
}

/// The exception classes of `omega_v2.errors`, in [`ErrorKind::ALL`] order.
static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn class(py: Python<'_>, kind: ErrorKind) -> PyResult<Bound<'_, PyType>> {
    let classes = CLASSES.get_or_try_init(py, || {
        let module = py.import("omega_v2.errors")?;
        ErrorKind::ALL
            .iter()
            .map(|k| Ok(module.getattr(class_name(*k))?.cast_into::<PyType>()?.unbind()))
            .collect::<PyResult<Vec<_>>>()
    })?;
    let index = ErrorKind::ALL.iter().position(|k| *k == kind).expect("every kind is in ErrorKind::ALL");
    Ok(classes[index].bind(py).clone())
}

pub fn to_py_err(py: Python<'_>, err: &EngineError, run_id: Option<&str>) -> PyErr {
    build(py, err, run_id).unwrap_or_else(|e| {
        // The error classes could not be built (a broken install): keep the message.
        PyRuntimeError::new_err(format!("{err} (and its exception class failed: {e})"))
    })
}

fn build(py: Python<'_>, err: &EngineError, run_id: Option<&str>) -> PyResult<PyErr> {
    let context = PyDict::new(py);
    for (k, v) in &err.context {
        context.set_item(*k, v)?;
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("run_id", run_id)?;
    kwargs.set_item("code", err.code.as_str())?;
    kwargs.set_item("context", context)?;
    let instance = class(py, err.kind())?.call(PyTuple::new(py, [err.to_string()])?, Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}
