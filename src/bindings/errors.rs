//! The one place where engine errors become Python exceptions (SPEC 7): each [`ErrorKind`]
//! maps to a class of `omega_v2.errors`, built with the message, run_id, code and context.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::error::EngineError;

pub fn to_py_err(py: Python<'_>, err: &EngineError, run_id: Option<&str>) -> PyErr {
    build(py, err, run_id).unwrap_or_else(|e| e)
}

fn build(py: Python<'_>, err: &EngineError, run_id: Option<&str>) -> Result<PyErr, PyErr> {
    let module = py.import("omega_v2.errors").map_err(|_| PyRuntimeError::new_err(err.to_string()))?;
    let class = module.getattr(err.kind.python_class())?;
    let context = PyDict::new(py);
    for (k, v) in &err.context {
        context.set_item(*k, v)?;
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("run_id", run_id)?;
    kwargs.set_item("code", err.code)?;
    kwargs.set_item("context", context)?;
    let instance = class.call(PyTuple::new(py, [err.to_string()])?, Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}
