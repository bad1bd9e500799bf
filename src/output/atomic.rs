//! Atomic run directories: write into `.<run_id>.partial-<pid>` next to the final directory,
//! fsync every file, rename, fsync the parent. A failure or a drop before `commit` removes the
//! staging directory, so no half-written run ever looks complete.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};

pub struct StagingDir {
    staging: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl StagingDir {
    /// Prepares `<parent>/<name>`; fails if it already exists (runs never overwrite runs).
    pub fn create(parent: &Path, name: &str) -> Result<Self> {
        let target = parent.join(name);
        if target.exists() {
            return Err(EngineError::output(
                "output.exists",
                format!("run directory {} already exists; choose another run_id or remove it", target.display()),
            )
            .with_file(&target));
        }
        fs::create_dir_all(parent).map_err(|e| EngineError::output_io("create directory", parent, &e))?;
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(|e| EngineError::output_io("remove stale directory", &staging, &e))?;
        }
        fs::create_dir(&staging).map_err(|e| EngineError::output_io("create directory", &staging, &e))?;
        Ok(Self { staging, target, committed: false })
    }

    /// Creates `name` (relative, may contain one subdirectory) and lets `fill` write it.
    pub fn write_file(&self, name: &str, fill: impl FnOnce(&mut ArtefactWriter) -> std::io::Result<()>) -> Result<()> {
        let path = self.staging.join(name);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| EngineError::output_io("create directory", dir, &e))?;
        }
        let file = File::create(&path).map_err(|e| EngineError::output_io("create", &path, &e))?;
        let mut w = BufWriter::with_capacity(1 << 16, WriteBehind::new(file));
        let final_path = self.target.join(name);
        let fail = |e: std::io::Error| EngineError::output_io("write", &final_path, &e);
        fill(&mut w).map_err(fail)?;
        w.flush().map_err(fail)?;
        w.get_ref().file.sync_all().map_err(fail)
    }

    /// Moves the finished directory into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        sync_dir(&self.staging)?;
        fs::rename(&self.staging, &self.target).map_err(|e| EngineError::output_io("rename into", &self.target, &e))?;
        if let Some(parent) = self.target.parent() {
            sync_dir(parent)?;
        }
        self.committed = true;
        Ok(self.target.clone())
    }
}

pub type ArtefactWriter = BufWriter<WriteBehind>;

/// A file that asks the kernel to start writing each finished 8 MiB chunk to disk while the
/// rest is still being formatted, so the final fsync of a large artefact (equity.csv of a long
/// run) waits only for the tail instead of the whole file.
pub struct WriteBehind {
    file: File,
    written: u64,
    flushed_to: u64,
}

const WRITE_BEHIND_CHUNK: u64 = 8 << 20;

impl WriteBehind {
    fn new(file: File) -> Self {
        Self { file, written: 0, flushed_to: 0 }
    }

    #[cfg(target_os = "linux")]
    fn start_writeback(&mut self) {
        use std::os::fd::AsRawFd;
        let (offset, len) = (self.flushed_to as libc::off64_t, (self.written - self.flushed_to) as libc::off64_t);
        // Only a hint: a failure here surfaces in the fsync at the end.
        // SAFETY: a valid open descriptor and an in-file byte range; no memory is passed.
        unsafe { libc::sync_file_range(self.file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) };
        self.flushed_to = self.written;
    }

    #[cfg(not(target_os = "linux"))]
    fn start_writeback(&mut self) {}
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.flushed_to >= WRITE_BEHIND_CHUNK {
            self.start_writeback();
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| EngineError::output_io("sync", dir, &e))
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn committed_directory_appears_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StagingDir::create(tmp.path(), "run1").unwrap();
        dir.write_file("a.json", |w| w.write_all(b"{}\n")).unwrap();
        dir.write_file("profiling/p.json", |w| w.write_all(b"{}\n")).unwrap();
        assert!(!tmp.path().join("run1").exists());
        let target = dir.commit().unwrap();
        assert_eq!(fs::read_to_string(target.join("a.json")).unwrap(), "{}\n");
        assert!(target.join("profiling/p.json").exists());
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1, "no staging left behind");
        assert_eq!(StagingDir::create(tmp.path(), "run1").err().unwrap().code, "output.exists");
    }

    #[test]
    fn failed_write_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let dir = StagingDir::create(tmp.path(), "run2").unwrap();
            dir.write_file("trades.json", |w| w.write_all(b"[")).unwrap();
            let err = dir.write_file("equity.csv", |_| Err(std::io::Error::other("disk full"))).unwrap_err();
            assert_eq!(err.code, "output.io");
            assert!(err.message.contains("equity.csv") && err.message.contains("disk full"));
        }
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
