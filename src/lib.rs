//! omega-v2 engine core: data loading and validation, bid/ask execution, strategies, metrics,
//! artefacts and per-run observability. The PyO3 bindings live behind the `python` feature so
//! that `cargo test` needs no Python interpreter at link time.

#[cfg(feature = "python")]
mod bindings;
pub mod config;
pub mod data;
pub mod datasets;
pub mod domain;
pub mod engine;
pub mod error;
pub mod execution;
pub mod explain;
pub mod indicators;
pub mod layout;
pub mod market;
pub mod metrics;
pub mod news;
pub mod observability;
pub mod output;
pub mod profiling;
pub mod rng;
pub mod run;
pub mod sampling;
pub mod specs;
pub mod strategy;
pub mod timefmt;
pub mod timing;
