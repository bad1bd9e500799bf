"""One backtest run: the Python half of the seam.

Python validates the config, computes its hash, creates the run_id and the Python log, then
makes ONE call into the Rust engine (`_core.run`) with the canonical config JSON and the run
context; the engine releases the GIL for the whole run and writes artefacts and Rust logs.
"""

from __future__ import annotations

import cProfile
import functools
import io
import os
import pstats
import re
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

from omega_v2 import _core, paths
from omega_v2.config import LoadedConfig, allowlisted_fields, load_config
from omega_v2.errors import ConfigError, OmegaError, OutputError
from omega_v2.logs import python_level, run_log
from omega_v2.result import RunResult

CancelToken = _core.CancelToken

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def new_run_id(config_hash: str) -> str:
    """`<UTC start>-<first 8 hex of config_hash>-<8 random hex>`: sortable by start time,
    file-safe, and unique in practice (32 random bits per second and config)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{stamp}-{config_hash[:8]}-{secrets.token_hex(4)}"


def validate_run_id(run_id: str) -> str:
    """Rejects anything that is not a plain file name before any file is touched."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise ConfigError(
            "run_id must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$ and must not contain `..`",
            code="config.run_id",
            context={"field": "run_id"},
        )
    return run_id


def run(
    config: Any = None,
    *,
    data_root: str | os.PathLike[str] | None = None,
    run_id: str | None = None,
    profile: bool | None = None,
    var_dir: str | os.PathLike[str] | None = None,
    strict: bool = False,
    log_to_stdout: bool = False,
    cancel_token: CancelToken | None = None,
) -> RunResult:
    """Runs one backtest and returns its :class:`RunResult`.

    `config` is a dict, a path to a JSON file, a :class:`LoadedConfig`, or None for the bundled
    example (which then runs on the bundled dataset). `profile=True` enables profiling mode.
    `cancel_token` (a :class:`CancelToken`) cancels a run running on another thread; on the main
    thread Ctrl-C does. Raises a subclass of :class:`OmegaError` carrying the run_id.
    """
    loaded = load_config(config_or_example(config), strict=strict)
    rid = validate_run_id(run_id) if run_id is not None else new_run_id(loaded.config_hash)
    var = paths.var_dir(var_dir)
    files = paths.log_files(var, rid)
    _ensure_unused(var, rid, files)
    profiling = bool(profile) if profile is not None else loaded.model.observability.profiling_mode
    context = {
        "run_id": rid,
        "config_hash": loaded.config_hash,
        "config_source": loaded.source,
        "var_dir": str(var),
        "data_root": str(paths.data_root(data_root, example=loaded.source == "example")),
        "log_to_stdout": log_to_stdout,
        "rust_log": os.environ.get("RUST_LOG"),
        "profile": profiling,
        "git": _git_info(),
    }
    run_mode = loaded.model.run_mode
    with run_log(files["python"], rid, python_level(run_mode)) as log:
        _core.reset_log_cache()
        log.info("run starting config_hash=%s %s", loaded.config_hash, _fields(allowlisted_fields(loaded.model)))
        for warning in loaded.warnings:
            log.warning(warning)
        profiler = cProfile.Profile() if profiling else None
        started = time.perf_counter()
        try:
            if profiler:
                profiler.enable()
            summary = _core.run(loaded.canonical_json, context, cancel_token)
        except OmegaError as e:
            # dev keeps the traceback in the Python log; prod only the message (SPEC 7).
            log.error("run failed code=%s: %s", e.code, e, exc_info=run_mode == "dev")
            raise
        finally:
            if profiler:
                profiler.disable()
        log.info(
            "run finished run_dir=%s trades=%s wall_ms=%.3f",
            summary["run_dir"],
            summary["counters"]["trades_emitted"],
            (time.perf_counter() - started) * 1e3,
        )
        if profiler:
            _write_python_profile(profiler, Path(summary["run_dir"]) / "profiling")
    return RunResult(Path(summary["run_dir"]), summary=summary, var_dir=var)


def _ensure_unused(var: Path, run_id: str, files: dict[str, Path]) -> None:
    """A run never writes into another run's files: an existing run dir or log is an error."""
    taken = [p for p in (paths.run_dir(var, run_id), *files.values()) if p.exists()]
    if taken:
        raise OutputError(
            f"run_id `{run_id}` is already used ({taken[0]} exists); choose another run_id or remove that run",
            run_id=run_id,
            code="output.exists",
            context={"file": str(taken[0])},
        )


def config_or_example(config: Any) -> Any:
    """`None` means the bundled example config."""
    if config is None:
        from omega_v2.config import example_config_path

        return example_config_path()
    return config


def _fields(values: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())


def _write_python_profile(profiler: cProfile.Profile, directory: Path) -> None:
    """cProfile of the Python layer: `python_profile.pstats` plus a top-20 text summary."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / "python_profile.pstats.tmp"
    profiler.dump_stats(tmp)
    tmp.replace(directory / "python_profile.pstats")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(20)
    (directory / "python_profile.txt").write_text(text.getvalue(), encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _git_info() -> dict[str, Any] | None:
    """Commit of the source checkout omega_v2 runs from, when it is one (editable installs).
    Looked up once per process."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(dirty)} if commit else None


__all__ = ["CancelToken", "LoadedConfig", "new_run_id", "run", "validate_run_id"]
