//! Phase clocks of a run: wall time of each phase from the engine's own `Instant`s, present in
//! every mode (spans are off in prod), reported in the run summary and `profiling.json`.

use std::time::Instant;

use serde::Serialize;

/// Wall time of each phase in ns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "python", pyo3::pyclass(module = "omega_v2._core", frozen, get_all, skip_from_py_object))]
pub struct PhaseTimings {
    pub data_load_ns: u64,
    pub strategy_init_ns: u64,
    pub backtest_ns: u64,
    pub metrics_ns: u64,
    pub write_ns: u64,
    pub total_ns: u64,
}

/// Runs `f`, storing its wall time in ns in `slot`.
pub fn timed<T>(slot: &mut u64, f: impl FnOnce() -> T) -> T {
    let clock = Instant::now();
    let out = f();
    *slot = elapsed_ns(clock);
    out
}

/// Nanoseconds since `clock`.
pub fn elapsed_ns(clock: Instant) -> u64 {
    clock.elapsed().as_nanos() as u64
}
