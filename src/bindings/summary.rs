//! What a run hands back, as Python sees it: the summary's pyclasses get a readable `repr` (a
//! notebook prints them), the run's paths a constructor, the summary its JSON form.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::Serialize;
use serde_json::Value;

use super::errors::to_py_err;
use crate::engine::Counters;
use crate::layout::RunPaths;
use crate::run::{Headline, Summary};
use crate::timing::PhaseTimings;

#[pymethods]
impl RunPaths {
    #[new]
    fn py_new(py: Python<'_>, var_dir: PathBuf, run_id: &str) -> PyResult<Self> {
        RunPaths::new(&var_dir, run_id).map_err(|e| to_py_err(py, &e, None))
    }

    /// The paths of the run whose directory is `run_dir`.
    #[staticmethod]
    #[pyo3(name = "from_run_dir")]
    fn py_from_run_dir(py: Python<'_>, run_dir: PathBuf) -> PyResult<Self> {
        RunPaths::from_run_dir(&run_dir).map_err(|e| to_py_err(py, &e, None))
    }

    fn __repr__(&self) -> String {
        repr("RunPaths", self, &[])
    }
}

#[pymethods]
impl Summary {
    /// The summary as one JSON object (the form the Rust binary prints).
    fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a summary serialises")
    }

    /// The run's identity, span and headline metrics; its paths, counters and timings print
    /// on their own.
    fn __repr__(&self) -> String {
        repr("Summary", self, &["paths", "counters", "timings"])
    }
}

#[pymethods]
impl Counters {
    fn __repr__(&self) -> String {
        repr("Counters", self, &[])
    }
}

#[pymethods]
impl PhaseTimings {
    fn __repr__(&self) -> String {
        repr("PhaseTimings", self, &[])
    }
}

impl<'py> IntoPyObject<'py> for &Headline {
    type Target = PyDict;
    type Output = Bound<'py, PyDict>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (key, value) in &self.0 {
            dict.set_item(key, pythonize::pythonize(py, value)?)?;
        }
        Ok(dict)
    }
}

/// `Name(field=value, ...)` from the value's own serialisation, so a field added to the type
/// shows without touching its repr; values are JSON (strings quoted, nested objects inline).
fn repr<T: Serialize>(name: &str, value: &T, skip: &[&str]) -> String {
    let fields = serde_json::to_string(value).ok().and_then(|text| serde_json::from_str::<Fields>(&text).ok());
    let Some(Fields(fields)) = fields else {
        return format!("{name}(...)");
    };
    let shown: Vec<String> =
        fields.iter().filter(|(k, _)| !skip.contains(&k.as_str())).map(|(k, v)| format!("{k}={v}")).collect();
    format!("{name}({})", shown.join(", "))
}

/// A JSON object's fields in the order they were written (a `serde_json::Map` sorts them).
struct Fields(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> serde::de::Visitor<'de> for InOrder {
            type Value = Fields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(InOrder)
    }
}
