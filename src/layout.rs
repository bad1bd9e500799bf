//! Where a run lives and what a run_id may be: the one owner of the var-dir layout, the data-root
//! resolution and the run_id rules (the Python front reads them through the extension).
//!
//! ```text
//! <var>/logs/<run_id>.log                    Rust, human text
//! <var>/logs/<run_id>.jsonl                  Rust, one JSON object per line
//! <var>/logs/<run_id>.python.log             Python wrapper
//! <var>/results/backtests/<run_id>/          artefacts (complete or absent)
//! <var>/results/backtests/.<run_id>.partial-<pid>/   the run's staging directory while it writes
//! <var>/results/backtests/.<run_id>.partial-<pid>/.owner   who writes it (`output::stale`)
//! ```

use std::collections::hash_map::RandomState;
use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{EngineError, ErrorCode, Result};

/// The artefacts that hold a run's results: byte-identical for the same config and data, at
/// any log level, with or without profiling (`meta.json` holds the run's identity too).
pub const RESULT_ARTEFACTS: [&str; 3] = ["trades.json", "equity.csv", "metrics.json"];

/// `OMEGA_VAR_DIR`: the var dir when none is given.
pub const VAR_DIR_ENV: &str = "OMEGA_VAR_DIR";
/// The data root when none is given: the first of these that is set, else `./data`.
pub const DATA_ROOT_ENVS: [&str; 2] = ["OMEGA_DATA_ROOT", "OMEGA_DATA_PARQUET_ROOT"];
/// The suffix a run_id must not end with: `<x>.python.log` is run `x`'s Python log.
const RESERVED_SUFFIX: &str = ".python";

/// A run_id becomes a file name: `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`, without `..` (no path
/// traversal) and not ending in `.python` (so that no run's log can be another run's).
pub fn validate_run_id(run_id: &str) -> Result<()> {
    let b = run_id.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 128
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
        && !run_id.contains("..")
        && !run_id.ends_with(RESERVED_SUFFIX);
    if ok {
        return Ok(());
    }
    Err(EngineError::new(
        ErrorCode::ConfigRunId,
        "run_id must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$, must not contain `..` and must not end in `.python`",
    )
    .with("field", "run_id"))
}

/// `<UTC start>-<first 8 hex of config_hash>-<8 random hex>`, e.g.
/// `20261124T103000Z-3a0be012-7f2c91d0`: sortable by start time, a safe file name, and unique in
/// practice (32 random bits per second and config).
pub fn new_run_id(config_hash: &str) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let stamp: String = crate::timefmt::format_iso(now.as_secs() as i64 * crate::timefmt::NANOS_PER_SEC)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let prefix: String = config_hash.chars().filter(char::is_ascii_hexdigit).take(8).collect();
    // SipHash with per-process random keys over the time and pid: unpredictable, no dependency.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(now.as_nanos());
    hasher.write_u32(std::process::id());
    format!("{stamp}-{prefix}-{:08x}", hasher.finish() as u32)
}

/// The var dir: `explicit`, else `$OMEGA_VAR_DIR`, else `./var`.
pub fn resolve_var_dir(explicit: Option<&Path>) -> PathBuf {
    explicit.map(Path::to_path_buf).or_else(|| non_empty_env(VAR_DIR_ENV)).unwrap_or_else(|| PathBuf::from("var"))
}

/// The data root: `explicit`, else `fallback` (the bundled dataset of the bundled example
/// config), else `$OMEGA_DATA_ROOT` / `$OMEGA_DATA_PARQUET_ROOT`, else `./data`. Made absolute
/// (against the working directory, symlinks kept), so that the paths a run records in its
/// manifest still name its files when it is replayed or explained from another directory.
pub fn resolve_data_root(explicit: Option<&Path>, fallback: Option<&Path>) -> PathBuf {
    let root = explicit
        .or(fallback)
        .map(Path::to_path_buf)
        .or_else(|| DATA_ROOT_ENVS.iter().find_map(|env| non_empty_env(env)))
        .unwrap_or_else(|| PathBuf::from("data"));
    std::path::absolute(&root).unwrap_or(root)
}

fn non_empty_env(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Every path of one run, derived from the var dir and a valid run_id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "python", pyo3::pyclass(module = "omega_v2._core", frozen, get_all, skip_from_py_object))]
pub struct RunPaths {
    pub run_id: String,
    pub var_dir: PathBuf,
    pub results_dir: PathBuf,
    pub run_dir: PathBuf,
    pub logs_dir: PathBuf,
    pub text_log: PathBuf,
    pub json_log: PathBuf,
    pub python_log: PathBuf,
}

impl RunPaths {
    pub fn new(var_dir: &Path, run_id: &str) -> Result<Self> {
        validate_run_id(run_id)?;
        let (results_dir, logs_dir) = (results_dir(var_dir), logs_dir(var_dir));
        Ok(Self {
            run_id: run_id.to_owned(),
            var_dir: var_dir.to_path_buf(),
            run_dir: results_dir.join(run_id),
            results_dir,
            text_log: logs_dir.join(format!("{run_id}.log")),
            json_log: logs_dir.join(format!("{run_id}.jsonl")),
            python_log: logs_dir.join(format!("{run_id}.python.log")),
            logs_dir,
        })
    }

    /// The paths of the run whose directory is `run_dir` (`<var>/results/backtests/<run_id>`).
    pub fn from_run_dir(run_dir: &Path) -> Result<Self> {
        let run_id = run_dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let var_dir = run_dir.parent().and_then(Path::parent).and_then(Path::parent).unwrap_or(Path::new(""));
        let paths = Self::new(var_dir, run_id)?;
        if paths.run_dir != run_dir {
            return Err(EngineError::new(
                ErrorCode::RunNotFound,
                format!("{} is not a run directory (<var>/results/backtests/<run_id>)", run_dir.display()),
            ));
        }
        Ok(paths)
    }

    /// The staging directory of this run in process `pid`.
    pub fn staging_dir(&self, pid: u32) -> PathBuf {
        self.results_dir.join(format!(".{}{STAGING_INFIX}{pid}", self.run_id))
    }
}

const STAGING_INFIX: &str = ".partial-";
/// The file inside a staging directory that records its owner process; removed just before
/// the directory is committed, so no run directory holds it.
pub const STAGING_OWNER_FILE: &str = ".owner";
/// The suffixes of a run's log files (`<run_id><suffix>` in the logs directory).
const LOG_SUFFIXES: [&str; 3] = [".python.log", ".jsonl", ".log"];

/// `<var>/results/backtests`: the run directories and their staging directories.
pub fn results_dir(var_dir: &Path) -> PathBuf {
    var_dir.join("results").join("backtests")
}

/// `<var>/logs`: the log files of every run.
pub fn logs_dir(var_dir: &Path) -> PathBuf {
    var_dir.join("logs")
}

/// The run_id and owner pid of a staging directory name (`.<run_id>.partial-<pid>`), if it is one.
pub fn parse_staging_name(dir_name: &str) -> Option<(&str, u32)> {
    let rest = dir_name.strip_prefix('.')?;
    let (run_id, pid) = rest.rsplit_once(STAGING_INFIX)?;
    validate_run_id(run_id).ok()?;
    Some((run_id, pid.parse().ok()?))
}

/// The run_id whose log file is named `file_name`, if it is one. Unambiguous because no run_id
/// ends in `.python`: `x.python.log` can only be run `x`'s Python log.
pub fn run_id_of_log(file_name: &str) -> Option<&str> {
    let run_id = LOG_SUFFIXES.iter().find_map(|suffix| file_name.strip_suffix(suffix))?;
    validate_run_id(run_id).ok().map(|()| run_id)
}

/// Every run_id that has something under `var`: a log file, a run directory or a staging
/// directory. Missing directories hold nothing.
pub fn run_ids_under(var_dir: &Path) -> Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    for name in dir_names(&logs_dir(var_dir))? {
        ids.extend(run_id_of_log(&name).map(str::to_owned));
    }
    for name in dir_names(&results_dir(var_dir))? {
        let run_id =
            parse_staging_name(&name).map(|(id, _)| id).or(validate_run_id(&name).ok().map(|()| name.as_str()));
        ids.extend(run_id.map(str::to_owned));
    }
    Ok(ids)
}

/// The UTF-8 entry names of `dir` (none when it does not exist).
fn dir_names(dir: &Path) -> Result<Vec<String>> {
    let fail = |e: std::io::Error| EngineError::output_io("list", dir, &e);
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        other => other.map_err(fail)?,
    };
    let mut names = Vec::new();
    for entry in entries {
        names.extend(entry.map_err(fail)?.file_name().into_string().ok());
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_safe_file_names() {
        for ok in ["a", "20261124T103000Z-3a0be012-7f2c", "run_1.b-c", "x.pythonic", "x.py"] {
            assert!(validate_run_id(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(129);
        for bad in ["", ".hidden", "a/b", "a..b", "../x", "a b", "x.python", long.as_str()] {
            assert_eq!(validate_run_id(bad).unwrap_err().code, ErrorCode::ConfigRunId, "{bad}");
        }
    }

    #[test]
    fn generated_run_ids_are_valid_and_distinct() {
        let a = new_run_id("3a0be012ffff");
        let b = new_run_id("3a0be012ffff");
        assert!(validate_run_id(&a).is_ok(), "{a}");
        assert_ne!(a, b);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!((parts[0].len(), parts[1], parts[2].len()), (16, "3a0be012", 8));
        assert!(parts[0].ends_with('Z') && parts[0].as_bytes()[8] == b'T');
    }

    #[test]
    fn paths_of_a_run() {
        let p = RunPaths::new(Path::new("v"), "r1").unwrap();
        assert_eq!(p.run_dir, Path::new("v/results/backtests/r1"));
        assert_eq!(p.python_log, Path::new("v/logs/r1.python.log"));
        let staging = p.staging_dir(42);
        assert_eq!(staging, Path::new("v/results/backtests/.r1.partial-42"));
        assert_eq!(parse_staging_name(staging.file_name().unwrap().to_str().unwrap()), Some(("r1", 42)));
        assert_eq!(parse_staging_name("r1"), None);
        assert_eq!(parse_staging_name(".r1.partial-x"), None);
        assert_eq!(parse_staging_name("..r1.partial-1"), None);
        assert_eq!(parse_staging_name(".a.partial-1.partial-2"), Some(("a.partial-1", 2)));
        assert_eq!(RunPaths::from_run_dir(&p.run_dir).unwrap(), p);
        assert!(RunPaths::from_run_dir(Path::new("v/elsewhere/r1")).is_err());
    }

    #[test]
    fn log_names_of_different_runs_never_collide() {
        // Tricky ids whose names could overlap if `.python` were allowed as an ending.
        let ids = ["x", "x.py", "x.log", "x.jsonl", "x.pythonic", "x.python.x", "x.json", "l", "x.python.log.x"];
        let mut seen = BTreeSet::new();
        for id in ids {
            let p = RunPaths::new(Path::new("v"), id).unwrap();
            for file in [&p.text_log, &p.json_log, &p.python_log] {
                assert!(seen.insert(file.clone()), "{} is the file of two runs", file.display());
                let name = file.file_name().unwrap().to_str().unwrap();
                assert_eq!(run_id_of_log(name), Some(id), "{name}");
            }
        }
        assert_eq!(run_id_of_log("x.txt"), None);
        assert_eq!(run_id_of_log(".x.log"), None);
    }

    #[test]
    fn run_ids_under_a_var_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let var = tmp.path();
        assert!(run_ids_under(&var.join("missing")).unwrap().is_empty());
        std::fs::create_dir_all(logs_dir(var)).unwrap();
        std::fs::create_dir_all(results_dir(var).join("done")).unwrap();
        std::fs::create_dir_all(results_dir(var).join(".killed.partial-7")).unwrap();
        for name in ["a.log", "a.jsonl", "a.python.log", "b.python.log", "notes.txt", ".hidden.log"] {
            std::fs::write(logs_dir(var).join(name), "").unwrap();
        }
        let ids: Vec<String> = run_ids_under(var).unwrap().into_iter().collect();
        assert_eq!(ids, ["a", "b", "done", "killed"]);
    }
}
