"""Where a run reads and writes. The layout and the run_id rules belong to the engine
(`omega_v2._core`); this module adapts them for Python callers and adds the bundled dataset."""

from __future__ import annotations

import os
from pathlib import Path

from omega_v2 import _core
from omega_v2.errors import Code, ConfigError, RunNotFound

EXAMPLE_DATA_ROOT = Path(__file__).parent / "examples" / "data"

RunPaths = _core.RunPaths


def var_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The base of `logs/` and `results/`: argument, else `$OMEGA_VAR_DIR`, else `./var`."""
    return _core.resolve_var_dir(Path(explicit) if explicit else None)


def data_root(explicit: str | os.PathLike[str] | None, *, example: bool) -> Path:
    """Argument, else the bundled dataset for the bundled example config, else
    `$OMEGA_DATA_ROOT` / `$OMEGA_DATA_PARQUET_ROOT`, else `./data`."""
    return _core.resolve_data_root(Path(explicit) if explicit else None, EXAMPLE_DATA_ROOT if example else None)


def run_paths(var: Path, run_id: str) -> RunPaths:
    """Every path of run `run_id` under `var` (raises ConfigError for an unsafe run_id)."""
    return _core.RunPaths(var, run_id)


def resolve_run(run_id_or_dir: str | os.PathLike[str], var: Path | None = None) -> Path:
    """A completed run's directory from a run_id (under the var dir) or a path to it."""
    candidate = Path(run_id_or_dir)
    if (candidate / "meta.json").is_file():
        return candidate
    var = var or var_dir()
    try:
        found: Path | None = run_paths(var, str(run_id_or_dir)).run_dir
    except ConfigError:  # not a valid run_id: then it could only have been a directory
        found = None
    if found is not None and (found / "meta.json").is_file():
        return found
    where = f"{candidate} is not a run directory" + (f" and {found} holds no completed run" if found else "")
    raise RunNotFound(
        f"no such run `{run_id_or_dir}`: {where}; check the run_id and the var dir (--var-dir / $OMEGA_VAR_DIR)",
        code=Code.RUN_NOT_FOUND,
        context={"run": str(run_id_or_dir), "var_dir": str(var)},
    )
