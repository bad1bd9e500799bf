//! The engine's indicators for Python strategies: the same code the built-in strategies use, so
//! a strategy written in Python computes bit for bit what a built-in one does.

use pyo3::prelude::*;

use super::buffers::{to_numpy, Column};
use crate::indicators;

fn series<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyAny>,
    f: impl FnOnce(&[f64]) -> Vec<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    let column = Column::<f64>::of(values, "values")?;
    to_numpy(py, &f(column.as_slice()), "<f8")
}

/// Simple moving average of the last `length` values (NaN before index `length - 1`).
#[pyfunction]
pub fn sma<'py>(py: Python<'py>, values: &Bound<'py, PyAny>, length: usize) -> PyResult<Bound<'py, PyAny>> {
    series(py, values, |v| indicators::sma(v, length.max(1)))
}

/// Exponential moving average, alpha = 2 / (length + 1), seeded with the first value.
#[pyfunction]
pub fn ema<'py>(py: Python<'py>, values: &Bound<'py, PyAny>, length: usize) -> PyResult<Bound<'py, PyAny>> {
    series(py, values, |v| indicators::ema(v, length.max(1)))
}

/// Rolling z-score of `residuals` over `window` values (sample std; NaN where undefined).
#[pyfunction]
pub fn zscore<'py>(py: Python<'py>, residuals: &Bound<'py, PyAny>, window: usize) -> PyResult<Bound<'py, PyAny>> {
    series(py, residuals, |v| indicators::residual_zscore(v, window.max(2)))
}

/// Wilder's average true range of `length` bars.
#[pyfunction]
pub fn wilder_atr<'py>(
    py: Python<'py>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
    length: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let (h, l, c) =
        (Column::<f64>::of(high, "high")?, Column::<f64>::of(low, "low")?, Column::<f64>::of(close, "close")?);
    if h.as_slice().len() != c.as_slice().len() || l.as_slice().len() != c.as_slice().len() {
        return Err(pyo3::exceptions::PyValueError::new_err("high, low and close must have the same length"));
    }
    to_numpy(py, &indicators::wilder_atr(h.as_slice(), l.as_slice(), c.as_slice(), length.max(1)), "<f8")
}

/// Bollinger band `(mid, upper, lower)`: SMA(length) +- std_factor x population std.
#[pyfunction]
pub fn bollinger<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyAny>,
    length: usize,
    std_factor: f64,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let column = Column::<f64>::of(values, "values")?;
    let bands = indicators::bollinger(column.as_slice(), length.max(2), std_factor);
    Ok((to_numpy(py, &bands.mid, "<f8")?, to_numpy(py, &bands.upper, "<f8")?, to_numpy(py, &bands.lower, "<f8")?))
}

/// Random-walk Kalman filter `(mean, z)` with measurement noise `r`, process noise `q`, and the
/// z-score of the residual over `window` values.
#[pyfunction]
pub fn kalman<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyAny>,
    r: f64,
    q: f64,
    window: usize,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let column = Column::<f64>::of(values, "values")?;
    let k = indicators::kalman(column.as_slice(), r, q, window.max(2));
    Ok((to_numpy(py, &k.mean, "<f8")?, to_numpy(py, &k.z, "<f8")?))
}
