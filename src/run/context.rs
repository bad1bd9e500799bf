//! Everything about a run that is not the config: identity, paths, output policy.

use std::path::PathBuf;

use crate::output::meta::GitInfo;

#[derive(Debug, Clone)]
pub struct RunContext {
    pub run_id: String,
    /// sha256 of the canonical config JSON, computed once by the caller (the config's owner).
    pub config_hash: String,
    /// `dict`, `example` or the config file path.
    pub config_source: String,
    /// Base of `logs/` and `results/backtests/`.
    pub var_dir: PathBuf,
    pub data_root: PathBuf,
    /// Mirror the human log to stdout.
    pub log_to_stdout: bool,
    /// `RUST_LOG` directives overriding the run mode's default level.
    pub rust_log: Option<String>,
    /// Forces profiling mode on (CLI `--profile`, API `profile=True`).
    pub profile: bool,
    pub git: Option<GitInfo>,
}
