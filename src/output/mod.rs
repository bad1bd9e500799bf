//! Artefact writers (see `docs/artefacts.md`). Everything goes into a staging directory that is renamed into
//! place only when every file is written and synced, so a run directory is complete or absent.

pub mod atomic;
pub mod equity;
pub mod meta;
pub mod stale;
pub mod trades;

pub use atomic::{ensure_absent, StagingDir};

use std::io::Write;

use crate::error::Result;

/// Writes `value` as pretty JSON with a final newline into `name` inside `dir`.
pub fn write_json<T: serde::Serialize>(dir: &StagingDir, name: &str, value: &T) -> Result<()> {
    dir.write_file(name, |w| {
        serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
}
