//! Atomic run directories: write into the run's staging directory next to the final one
//! (`layout::RunPaths::staging_dir`), fsync every file, rename without replacing anything, fsync
//! the parent. A failure or a drop before `commit` removes the staging directory, so no
//! half-written run ever looks complete. A process killed before either (SIGKILL, power cut)
//! leaves it behind with its owner record, and the next run's start removes it
//! (`output::stale`).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::stale::{self, Owner, StagingState};
use crate::error::{EngineError, ErrorCode, Result};
use crate::layout::{RunPaths, STAGING_OWNER_FILE};

pub struct StagingDir {
    staging: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl StagingDir {
    /// Creates `staging` for the run directory `target`, with this process's owner record in
    /// it; fails if `target` exists (runs never overwrite runs) or `staging` does (another
    /// process of this pid never runs this run).
    pub fn create(staging: PathBuf, target: PathBuf) -> Result<Self> {
        ensure_absent(&target)?;
        if let Some(parent) = staging.parent() {
            fs::create_dir_all(parent).map_err(|e| EngineError::output_io("create directory", parent, &e))?;
        }
        fs::create_dir(&staging).map_err(|e| EngineError::output_io("create directory", &staging, &e))?;
        // From here on, a failure removes the directory (Drop).
        let dir = Self { staging, target, committed: false };
        Owner::current().record(&dir.staging)?;
        Ok(dir)
    }

    /// The staging directory of this process for the run of `paths`, once the staging
    /// directories of dead runs next to it are removed.
    pub fn for_run(paths: &RunPaths) -> Result<Self> {
        remove_stale(&paths.results_dir);
        Self::create(paths.staging_dir(std::process::id()), paths.run_dir.clone())
    }

    /// Where the files are written until the commit.
    pub fn path(&self) -> &Path {
        &self.staging
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

    /// Moves the finished directory into place; never replaces an existing one (a run that
    /// claimed the same run_id at the same moment keeps its directory).
    pub fn commit(mut self) -> Result<PathBuf> {
        let owner = self.staging.join(STAGING_OWNER_FILE);
        fs::remove_file(&owner).map_err(|e| EngineError::output_io("remove", &owner, &e))?;
        // Renamed at once: a kill between the two leaves an unowned staging directory, which
        // is kept for a grace period, so the window stays a few syscalls wide. The directory
        // entries are made durable afterwards (the files themselves are synced already).
        rename_no_replace(&self.staging, &self.target)?;
        self.committed = true;
        sync_dir(&self.target)?;
        if let Some(parent) = self.target.parent() {
            sync_dir(parent)?;
        }
        Ok(self.target.clone())
    }
}

/// Removes the staging directories of runs whose process is gone. A results directory that
/// cannot be listed is reported by the creation of this run's own staging directory instead.
fn remove_stale(results_dir: &Path) {
    for found in stale::sweep(results_dir, true).unwrap_or_default() {
        let (path, reason) = (found.path.display(), &found.reason);
        if found.removed {
            tracing::info!(component = "output", path = %path, bytes = found.bytes, reason = %reason, "removed the staging directory of a dead run");
        } else if found.state == StagingState::Stale {
            tracing::warn!(component = "output", path = %path, reason = %reason, "cannot remove the staging directory of a dead run");
        }
    }
}

/// Runs never overwrite runs: an existing run directory is an error.
pub fn ensure_absent(run_dir: &Path) -> Result<()> {
    if run_dir.symlink_metadata().is_err() {
        return Ok(());
    }
    Err(EngineError::new(
        ErrorCode::OutputExists,
        format!("run directory {} already exists; choose another run_id or remove that run", run_dir.display()),
    )
    .with_file(run_dir))
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

#[cfg(target_os = "linux")]
fn rename_no_replace(from: &Path, to: &Path) -> Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| EngineError::output_io("rename into", to, &std::io::Error::other("path contains a NUL byte")))
    };
    let (from_c, to_c) = (c(from)?, c(to)?);
    // SAFETY: two valid NUL-terminated paths relative to the working directory.
    let rc = unsafe {
        libc::renameat2(libc::AT_FDCWD, from_c.as_ptr(), libc::AT_FDCWD, to_c.as_ptr(), libc::RENAME_NOREPLACE)
    };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EEXIST) => Err(EngineError::new(
            ErrorCode::OutputExists,
            format!("run directory {} appeared while this run was writing (another run claimed the run_id); nothing was replaced", to.display()),
        )
        .with_file(to)),
        // Filesystems without RENAME_NOREPLACE: a checked rename (the race window is tiny).
        Some(libc::EINVAL) | Some(libc::ENOSYS) if !to.exists() => fs::rename(from, to).map_err(|e| EngineError::output_io("rename into", to, &e)),
        _ => Err(EngineError::output_io("rename into", to, &err)),
    }
}

#[cfg(not(target_os = "linux"))]
fn rename_no_replace(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        return Err(EngineError::new(
            ErrorCode::OutputExists,
            format!("run directory {} already exists", to.display()),
        )
        .with_file(to));
    }
    fs::rename(from, to).map_err(|e| EngineError::output_io("rename into", to, &e))
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
        let paths = RunPaths::new(tmp.path(), "run1").unwrap();
        let dir = StagingDir::for_run(&paths).unwrap();
        dir.write_file("a.json", |w| w.write_all(b"{}\n")).unwrap();
        dir.write_file("profiling/p.json", |w| w.write_all(b"{}\n")).unwrap();
        assert!(!tmp.path().join("run1").exists());
        assert!(!paths.run_dir.exists());
        assert_eq!(Owner::read(dir.path()), Some(Owner::current()), "the staging dir names its owner");
        let target = dir.commit().unwrap();
        assert_eq!(fs::read_to_string(target.join("a.json")).unwrap(), "{}\n");
        assert!(target.join("profiling/p.json").exists());
        assert!(!target.join(STAGING_OWNER_FILE).exists(), "no run directory holds the owner record");
        assert_eq!(fs::read_dir(&paths.results_dir).unwrap().count(), 1, "no staging left behind");
        assert_eq!(StagingDir::for_run(&paths).err().unwrap().code, "output.exists");
    }

    #[test]
    fn failed_write_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let dir = StagingDir::for_run(&RunPaths::new(tmp.path(), "run2").unwrap()).unwrap();
            dir.write_file("trades.json", |w| w.write_all(b"[")).unwrap();
            let err = dir.write_file("equity.csv", |_| Err(std::io::Error::other("disk full"))).unwrap_err();
            assert_eq!(err.code, "output.io");
            assert!(err.message.contains("equity.csv") && err.message.contains("disk full"));
        }
        assert_eq!(fs::read_dir(tmp.path().join("results/backtests")).unwrap().count(), 0);
    }

    #[test]
    fn commit_never_replaces_a_directory_that_appeared_meanwhile() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = RunPaths::new(tmp.path(), "raced").unwrap();
        let dir = StagingDir::for_run(&paths).unwrap();
        dir.write_file("a.json", |w| w.write_all(b"mine\n")).unwrap();
        fs::create_dir_all(&paths.run_dir).unwrap();
        fs::write(paths.run_dir.join("a.json"), "theirs\n").unwrap();
        assert_eq!(dir.commit().unwrap_err().code, ErrorCode::OutputExists);
        assert_eq!(fs::read_to_string(paths.run_dir.join("a.json")).unwrap(), "theirs\n");
    }

    #[test]
    fn a_new_staging_dir_removes_those_of_dead_runs_only() {
        let tmp = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let killed = RunPaths::new(tmp.path(), "killed").unwrap();
        fs::create_dir_all(killed.staging_dir(dead)).unwrap();
        Owner { pid: dead, ..Owner::current() }.record(&killed.staging_dir(dead)).unwrap();
        let running = StagingDir::for_run(&RunPaths::new(tmp.path(), "running").unwrap()).unwrap();
        let next = StagingDir::for_run(&RunPaths::new(tmp.path(), "next").unwrap()).unwrap();
        assert!(!killed.staging_dir(dead).exists(), "the dead run's staging dir is removed");
        assert!(running.path().exists() && next.path().exists(), "a live run's staging dir is kept");
    }
}
