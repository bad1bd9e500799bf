//! What a run hands back across the seam: small, typed, no per-bar data.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::engine::Counters;
use crate::layout::RunPaths;
use crate::metrics::{self, Metrics};
use crate::timing::PhaseTimings;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "python", pyo3::pyclass(module = "omega_v2._core", frozen, get_all, skip_from_py_object))]
pub struct Summary {
    pub run_id: String,
    pub status: &'static str,
    pub paths: RunPaths,
    /// Bars that traded (after warmup).
    pub bars: usize,
    pub start_time: String,
    pub end_time: String,
    pub warmup_shortfall_bars: usize,
    pub counters: Counters,
    pub timings: PhaseTimings,
    /// The headline metrics; the full set is in `metrics.json`.
    pub metrics: Headline,
}

/// The headline metrics (`metrics::HEADLINE`) as written to `metrics.json` (rounded).
#[derive(Debug, Clone, PartialEq)]
pub struct Headline(pub Vec<(&'static str, metrics::Value)>);

impl Headline {
    pub fn of(m: &Metrics) -> Self {
        Headline(metrics::HEADLINE.iter().filter_map(|k| m.get(k).map(|v| (*k, v))).collect())
    }
}

impl Serialize for Headline {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}
