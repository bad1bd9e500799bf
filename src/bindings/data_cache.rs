//! `DataCache`: data loaded by earlier runs, handed to the runs that may reuse it (a sweep's
//! points on one worker; see `data::LoadCache`).

use pyo3::prelude::*;

use crate::data::LoadCache;

/// Keeps the last few loads from data files; runs given the same cache that read the same files
/// for the same span share its bars instead of reading the files again.
#[pyclass(module = "omega_v2._core", frozen)]
#[derive(Default)]
pub struct DataCache {
    pub(crate) inner: LoadCache,
}

#[pymethods]
impl DataCache {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Loads kept now.
    #[getter]
    fn loads(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!("DataCache(loads={}, capacity={})", self.inner.len(), crate::data::CACHE_CAPACITY)
    }
}
