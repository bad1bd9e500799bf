//! Staging directories left behind by runs that died where nothing can clean up (SIGKILL, the
//! out-of-memory killer, a power cut): who owns one, whether that owner is gone, and the sweep
//! that removes them (at every run's start, and by `python -m omega_v2 clean`).
//!
//! Right after a staging directory is created, its owner record (`layout::STAGING_OWNER_FILE`,
//! one JSON object) is written into it: host name, pid, the process's start time and the boot
//! id. The owner is gone when the record is from this host and the machine booted since, or
//! no process has that pid (or only a zombie does), or the process with that pid started at
//! another time (the pid was reused). Directories recorded by another host are never touched:
//! on a shared var dir only that host can tell whether its run is alive.
//!
//! A directory without a readable record (killed between creating it and writing the record,
//! or a record lost in a power cut before it reached the disk) is abandoned once it is older
//! than [`UNRECORDED_GRACE`] and no process here has the pid of its name: its creator writes
//! the record microseconds after creating it, so no live run is ever that old without one.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::layout::{self, STAGING_OWNER_FILE};

/// How old a staging directory without an owner record must be before it counts as abandoned.
pub const UNRECORDED_GRACE: Duration = Duration::from_secs(60);
/// An owner record is a few dozen bytes; anything longer is not one.
const RECORD_LIMIT: u64 = 4096;

/// The process that writes a staging directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    /// The process's start time (clock ticks after boot; Linux only).
    pub started: Option<u64>,
    /// The kernel's boot id (Linux only): another one means the machine was rebooted since.
    pub boot_id: Option<String>,
}

impl Owner {
    /// This process.
    pub fn current() -> Self {
        let pid = std::process::id();
        Self { host: host_name(), pid, started: process_start(pid), boot_id: boot_id() }
    }

    /// Writes the record into the (just created) staging directory `dir`.
    pub fn record(&self, dir: &Path) -> Result<()> {
        let path = dir.join(STAGING_OWNER_FILE);
        let text = serde_json::to_string(self).map_err(std::io::Error::other);
        fs::File::create_new(&path)
            .and_then(|mut f| f.write_all(text?.as_bytes()))
            .map_err(|e| EngineError::output_io("create", &path, &e))
    }

    /// The record in staging directory `dir`, if it holds a readable one.
    pub fn read(dir: &Path) -> Option<Self> {
        let mut text = String::new();
        fs::File::open(dir.join(STAGING_OWNER_FILE)).ok()?.take(RECORD_LIMIT).read_to_string(&mut text).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// What the sweep made of a staging directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StagingState {
    /// Its owner is running: a run in progress. Kept.
    Live,
    /// Its owner is gone: nothing will ever finish or remove it. Removed by a sweep.
    Stale,
    /// Recorded by another host (a shared var dir). Kept: clean it on that host.
    OtherHost,
    /// No owner record yet and too young to call abandoned. Kept.
    Unknown,
}

/// One staging directory found by [`sweep`].
#[derive(Debug, Clone, Serialize)]
pub struct StagingReport {
    pub path: PathBuf,
    pub run_id: String,
    pub state: StagingState,
    /// Why it is in that state, e.g. `pid 4242 on host vm is gone`.
    pub reason: String,
    /// Bytes of the files in it (before a removal: what the removal freed).
    pub bytes: u64,
    /// Whether this sweep removed it.
    pub removed: bool,
}

/// Every staging directory in `results_dir` with its owner's state; with `remove`, deletes
/// those whose owner is gone. A missing `results_dir` holds none.
pub fn sweep(results_dir: &Path, remove: bool) -> Result<Vec<StagingReport>> {
    let entries = match fs::read_dir(results_dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        other => other.map_err(|e| EngineError::output_io("list", results_dir, &e))?,
    };
    let here = Owner::current();
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| EngineError::output_io("list", results_dir, &e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        let Some((run_id, name_pid)) = layout::parse_staging_name(&name) else { continue };
        // A link or file with a staging name is not a directory a run made: never followed.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        let (state, reason) = judge(&path, name_pid, &here);
        let bytes = dir_bytes(&path);
        let removed = remove && state == StagingState::Stale && remove_dir(&path);
        found.push(StagingReport { run_id: run_id.to_owned(), path, state, reason, bytes, removed });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// The state of staging directory `path` (named after pid `name_pid`) seen from `here`.
fn judge(path: &Path, name_pid: u32, here: &Owner) -> (StagingState, String) {
    let Some(owner) = Owner::read(path) else {
        let age = fs::symlink_metadata(path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        if is_running(name_pid, None) {
            return (StagingState::Live, format!("no owner record; pid {name_pid} is running here"));
        }
        return match age {
            Some(age) if age >= UNRECORDED_GRACE => (
                StagingState::Stale,
                format!("no owner record, {} s old, and no process {name_pid} here", age.as_secs()),
            ),
            _ => (StagingState::Unknown, "no owner record yet".to_owned()),
        };
    };
    // The record is read from disk: its host name is quoted bounded, like any input.
    let who = format!("pid {} on host {}", owner.pid, crate::error::quote(&owner.host));
    if owner.host != here.host {
        return (StagingState::OtherHost, format!("{who}: another host; clean it there"));
    }
    if owner.boot_id.is_some() && here.boot_id.is_some() && owner.boot_id != here.boot_id {
        return (StagingState::Stale, format!("{who} is gone (the machine was rebooted since)"));
    }
    if is_running(owner.pid, owner.started) {
        (StagingState::Live, format!("{who} is running"))
    } else {
        (StagingState::Stale, format!("{who} is gone"))
    }
}

/// Removes a stale directory; another process sweeping at the same moment may remove parts of
/// it first, so only the end result counts.
fn remove_dir(path: &Path) -> bool {
    let _ = fs::remove_dir_all(path);
    fs::symlink_metadata(path).is_err()
}

/// Total size of the regular files below `dir` (links are not followed).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .filter_map(|e| Some((e.path(), e.file_type().ok()?)))
        .map(|(path, kind)| {
            if kind.is_dir() {
                dir_bytes(&path)
            } else if kind.is_file() {
                fs::symlink_metadata(&path).map_or(0, |m| m.len())
            } else {
                0
            }
        })
        .sum()
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    if rc == 0 {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    }
}

/// Whether process `pid` is running (not a zombie) and, when `started` is known, is the same
/// process that started then. A process that exists but whose details are hidden (another
/// user's, under `/proc` mounted with `hidepid`) counts as running: never remove what may be live.
fn is_running(pid: u32, started: Option<u64>) -> bool {
    if !pid_exists(pid) {
        return false;
    }
    match proc_stat(pid) {
        Some((state, start)) => !matches!(state, 'Z' | 'X') && started.is_none_or(|s| s == start),
        None => true,
    }
}

fn pid_exists(pid: u32) -> bool {
    // Above i32::MAX a pid would name a process group; 0 is this one's.
    let Ok(pid) = i32::try_from(pid) else { return false };
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// State letter and start time (field 22) of `/proc/<pid>/stat`.
#[cfg(target_os = "linux")]
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may itself hold spaces or ')'.
    let mut fields = text.get(text.rfind(')')? + 1..)?.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

#[cfg(not(target_os = "linux"))]
fn proc_stat(_pid: u32) -> Option<(char, u64)> {
    None
}

fn process_start(pid: u32) -> Option<u64> {
    proc_stat(pid).map(|(_, start)| start)
}

#[cfg(target_os = "linux")]
fn boot_id() -> Option<String> {
    fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|s| s.trim().to_owned())
}

#[cfg(not(target_os = "linux"))]
fn boot_id() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Backdates a directory's modification time by `age`.
    fn set_age(path: &Path, age: Duration) {
        fs::File::open(path).unwrap().set_modified(std::time::SystemTime::now() - age).unwrap();
    }

    fn staging(results: &Path, run_id: &str, pid: u32) -> PathBuf {
        let dir = results.join(format!(".{run_id}.partial-{pid}"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("equity.csv"), "x".repeat(1000)).unwrap();
        dir
    }

    /// A pid that is certainly not running: a child that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    fn by_run(reports: &[StagingReport], run_id: &str) -> StagingReport {
        reports.iter().find(|r| r.run_id == run_id).cloned().unwrap()
    }

    #[test]
    fn the_owner_record_round_trips_and_describes_this_process() {
        let tmp = tempfile::tempdir().unwrap();
        let me = Owner::current();
        assert_eq!(me.pid, std::process::id());
        assert!(!me.host.is_empty());
        me.record(tmp.path()).unwrap();
        assert_eq!(Owner::read(tmp.path()), Some(me.clone()));
        assert!(is_running(me.pid, me.started));
        assert_eq!(me.record(tmp.path()).unwrap_err().code, crate::error::ErrorCode::OutputIo, "never overwritten");
    }

    #[test]
    fn removes_only_directories_whose_owner_is_gone() {
        let tmp = tempfile::tempdir().unwrap();
        let results = tmp.path();
        let here = Owner::current();
        let dead = dead_pid();
        let live = staging(results, "live", here.pid);
        here.record(&live).unwrap();
        let gone = staging(results, "gone", dead);
        Owner { pid: dead, ..here.clone() }.record(&gone).unwrap();
        let reused = staging(results, "reused", here.pid);
        Owner { started: here.started.map(|s| s + 1), ..here.clone() }.record(&reused).unwrap();
        let rebooted = staging(results, "rebooted", here.pid);
        Owner { boot_id: Some("another-boot".into()), ..here.clone() }.record(&rebooted).unwrap();
        let foreign = staging(results, "foreign", dead);
        Owner { host: format!("{}-elsewhere", here.host), ..here.clone() }.record(&foreign).unwrap();
        let young = staging(results, "young", dead);
        let old = staging(results, "old", dead);
        set_age(&old, UNRECORDED_GRACE + Duration::from_secs(5));
        let old_but_running = staging(results, "oldlive", here.pid);
        set_age(&old_but_running, UNRECORDED_GRACE * 2);
        fs::create_dir_all(results.join("complete-run")).unwrap();

        let listed = sweep(results, false).unwrap();
        assert_eq!(listed.len(), 8, "{listed:?}");
        assert!(listed.iter().all(|r| !r.removed && r.path.exists()), "a dry run removes nothing");
        assert_eq!(by_run(&listed, "gone").bytes, 1000 + fs::metadata(gone.join(".owner")).unwrap().len());

        let swept = sweep(results, true).unwrap();
        let state = |id: &str| by_run(&swept, id).state;
        for id in ["gone", "reused", "rebooted", "old"] {
            assert_eq!(state(id), StagingState::Stale, "{id}");
            assert!(by_run(&swept, id).removed && !by_run(&swept, id).path.exists(), "{id}");
        }
        assert_eq!((state("live"), state("oldlive")), (StagingState::Live, StagingState::Live));
        assert_eq!((state("foreign"), state("young")), (StagingState::OtherHost, StagingState::Unknown));
        for dir in [&live, &foreign, &young, &old_but_running] {
            assert!(dir.join("equity.csv").exists(), "{} must be kept", dir.display());
        }
        assert!(by_run(&swept, "gone").reason.contains(&format!("pid {dead}")), "{:?}", by_run(&swept, "gone"));
        assert!(results.join("complete-run").exists());
        assert!(sweep(&results.join("missing"), true).unwrap().is_empty());
    }

    #[test]
    fn a_zombie_is_gone_and_a_live_process_is_not() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        assert!(is_running(pid, process_start(pid)));
        assert!(!is_running(pid, process_start(pid).map(|s| s + 1)), "another process with a reused pid");
        child.kill().unwrap();
        std::thread::sleep(Duration::from_millis(100)); // killed, not yet reaped: a zombie
        assert!(pid_exists(pid) && !is_running(pid, None));
        child.wait().unwrap();
        assert!(!pid_exists(pid) && !is_running(u32::MAX, None));
    }

    #[test]
    fn a_link_with_a_staging_name_is_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("precious");
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("keep"), "x").unwrap();
        let results = tmp.path().join("results");
        fs::create_dir_all(&results).unwrap();
        std::os::unix::fs::symlink(&target, results.join(format!(".x.partial-{}", dead_pid()))).unwrap();
        assert!(sweep(&results, true).unwrap().is_empty());
        assert!(target.join("keep").exists());
    }
}
