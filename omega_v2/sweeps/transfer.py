"""A run's files on their way from a worker to where they are kept, complete or not at all.

A worker collects a finished run (its run directory and its three log files) into a
:class:`Bundle` of bytes. The client commits a bundle into its own var dir the way the engine
commits a run: the logs first, then the run directory written into a staging directory next to
the final one (`.<run_id>.partial-<pid>`, the engine's name, so the same cleanup applies),
every file and directory fsynced, and renamed into place; a half-transferred run never appears
as a run directory. An fsspec store has no rename: files are put one by one and `meta.json`,
which every reader of a run opens first, goes last, so a run there is complete once its
`meta.json` exists.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_v2 import paths
from omega_v2.errors import Code, ConfigError, OutputError

#: Written last to a store without rename: its presence marks a complete run.
COMPLETE_MARKER = "meta.json"


@dataclass(frozen=True)
class Bundle:
    run_id: str
    #: Files of the run directory by path relative to it (`trades.json`, `profiling/...`).
    run_files: dict[str, bytes]
    #: Log files by name (`<run_id>.log`, `.jsonl`, `.python.log`).
    logs: dict[str, bytes]

    @property
    def complete(self) -> bool:
        """A failed run has logs but no run directory."""
        return bool(self.run_files)


def collect(var: Path, run_id: str) -> Bundle:
    """The files run `run_id` left under `var`."""
    run = paths.run_paths(var, run_id)
    files = sorted(p for p in run.run_dir.rglob("*") if p.is_file()) if run.run_dir.is_dir() else []
    logs = [p for p in (run.text_log, run.json_log, run.python_log) if p.is_file()]
    return Bundle(
        run_id,
        {p.relative_to(run.run_dir).as_posix(): p.read_bytes() for p in files},
        {p.name: p.read_bytes() for p in logs},
    )


def commit(bundle: Bundle, var: Path) -> Path | None:
    """Writes `bundle` under `var` durably; returns the run directory (None for a failed run's
    logs). Never replaces an existing run or log."""
    run = paths.run_paths(var, bundle.run_id)
    try:
        run.logs_dir.mkdir(parents=True, exist_ok=True)
        for name, data in bundle.logs.items():
            _publish(run.logs_dir / name, data)
        _sync_dir(run.logs_dir)
        if not bundle.complete:
            return None
        _refuse_existing(run.run_dir)
        run.results_dir.mkdir(parents=True, exist_ok=True)
        staging = run.results_dir / f".{bundle.run_id}.partial-{os.getpid()}"
        try:
            _write_tree(staging, bundle.run_files)
            _refuse_existing(run.run_dir)
            os.rename(staging, run.run_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone already after the rename
        _sync_dir(run.results_dir)
    except OSError as e:
        raise OutputError(
            f"cannot write run {bundle.run_id} into {var}: {e.strerror or e}",
            run_id=bundle.run_id,
            code=Code.OUTPUT_IO,
            context={"file": str(e.filename or var)},
        ) from None
    return run.run_dir


def _publish(path: Path, data: bytes) -> None:
    """`path` appears whole or not at all."""
    _refuse_existing(path)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        _write_durably(tmp, data)
        _refuse_existing(path)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_tree(root: Path, files: dict[str, bytes]) -> None:
    root.mkdir()
    directories = {root}
    for relative, data in files.items():
        path = root / relative
        if path.parent not in directories:
            path.parent.mkdir(parents=True, exist_ok=True)
            directories.add(path.parent)
        _write_durably(path, data)
    for directory in sorted(directories, key=lambda d: len(d.parts), reverse=True):
        _sync_dir(directory)


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _refuse_existing(path: Path) -> None:
    """Runs never overwrite runs. run_ids carry 8 random hex digits, so this guards against a
    bug (a bundle committed twice), not against a race."""
    if os.path.lexists(path):
        raise OutputError(
            f"{path} already exists; a sweep never replaces a run or its logs",
            code=Code.OUTPUT_EXISTS,
            context={"file": str(path)},
        )


def upload(bundle: Bundle, url: str) -> str:
    """Puts `bundle` into the fsspec store at `url` (logs, the run's files, `meta.json` last);
    returns the run directory's URL."""
    fs, root = filesystem(url)
    root = root.rstrip("/")
    logs_dir = f"{root}/logs"
    for name, data in bundle.logs.items():
        _put(fs, f"{logs_dir}/{name}", data)
    run_dir = f"{root}/results/backtests/{bundle.run_id}"
    if fs.exists(f"{run_dir}/{COMPLETE_MARKER}"):
        raise OutputError(
            f"run {bundle.run_id} already exists in the store; a sweep never replaces a run",
            run_id=bundle.run_id,
            code=Code.OUTPUT_EXISTS,
        )
    for relative in sorted(bundle.run_files, key=lambda name: name == COMPLETE_MARKER):
        _put(fs, f"{run_dir}/{relative}", bundle.run_files[relative])
    return f"{url.rstrip('/')}/results/backtests/{bundle.run_id}"


def _put(fs: Any, path: str, data: bytes) -> None:
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    fs.pipe_file(path, data)


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem and path of a store URL (fsspec is imported only here)."""
    try:
        import fsspec
    except ImportError:
        raise ConfigError(
            "a store URL needs fsspec: pip install fsspec (and the filesystem's own package, e.g. s3fs for s3://)",
            code=Code.CONFIG_INVALID,
            context={"field": "store"},
        ) from None
    return fsspec.core.url_to_fs(url)
