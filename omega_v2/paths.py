"""Where a run reads and writes: var dir, data root, run directories and log files."""

from __future__ import annotations

import os
from pathlib import Path

from omega_v2.errors import ConfigError

VAR_DIR_ENV = "OMEGA_VAR_DIR"
DATA_ROOT_ENVS = ("OMEGA_DATA_ROOT", "OMEGA_DATA_PARQUET_ROOT")
EXAMPLE_DATA_ROOT = Path(__file__).parent / "examples" / "data"


def var_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The base of `logs/` and `results/`: argument, else `$OMEGA_VAR_DIR`, else `./var`."""
    return Path(explicit or os.environ.get(VAR_DIR_ENV) or "var")


def data_root(explicit: str | os.PathLike[str] | None, *, example: bool) -> Path:
    """Argument, else the bundled dataset for the bundled example config, else
    `$OMEGA_DATA_ROOT` / `$OMEGA_DATA_PARQUET_ROOT`, else `./data`."""
    if explicit:
        return Path(explicit)
    if example:
        return EXAMPLE_DATA_ROOT
    for env in DATA_ROOT_ENVS:
        if os.environ.get(env):
            return Path(os.environ[env])
    return Path("data")


def run_dir(var: Path, run_id: str) -> Path:
    return var / "results" / "backtests" / run_id


def log_files(var: Path, run_id: str) -> dict[str, Path]:
    logs = var / "logs"
    return {
        "rust_text": logs / f"{run_id}.log",
        "rust_json": logs / f"{run_id}.jsonl",
        "python": logs / f"{run_id}.python.log",
    }


def resolve_run(run_id_or_dir: str | os.PathLike[str], var: Path | None = None) -> Path:
    """A run directory from a run_id (under the var dir) or a path to the directory."""
    candidate = Path(run_id_or_dir)
    if (candidate / "meta.json").is_file():
        return candidate
    found = run_dir(var or var_dir(), str(run_id_or_dir))
    if (found / "meta.json").is_file():
        return found
    raise ConfigError(
        f"no completed run `{run_id_or_dir}`: neither {candidate} nor {found} holds a meta.json",
        code="config.unknown_run",
    )
