//! PyO3 bindings (feature `python`): the module `omega_v2._core`. One call runs one backtest
//! with the GIL released; errors become the typed exceptions of `omega_v2.errors`.

mod actions;
mod buffers;
mod data_cache;
mod errors;
mod hooks;
mod indicators;
mod py_strategy;
mod python;
mod summary;
