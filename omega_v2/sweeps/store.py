"""The store of a sweep's finished points: `<var>/sweeps/<sweep_id>/`.

* `sweep.json`: what the sweep is (written once, atomically).
* `points.jsonl`: one JSON line per finished point, appended and fsynced as each point
  finishes, so a crash loses at most the points still running. A later line for the same key
  replaces an earlier one (a failure retried). A torn last line (a crash mid-write) is ignored.
* `summary.csv`: the last summary (atomically replaced).
* `lock`: held while a sweep runs, so two processes never run one sweep at once.

A point is reused only while its run is still where it was written and the data files its run
read (by the sha256 in its manifest) are unchanged; otherwise it runs again.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_v2.errors import Code, ConfigError, OmegaError, OutputError
from omega_v2.sweeps import transfer

_log = logging.getLogger("omega_v2.sweeps")

INDEX, META, SUMMARY, LOCK = "points.jsonl", "sweep.json", "summary.csv", "lock"

# The lock files this process holds. A flock belongs to the open file, which a forked pool worker
# shares; a killed sweep's worker could then outlive it and keep its store locked. So a forked
# child points each held lock fd at /dev/null: the fd number stays valid, the lock stays the
# parent's alone.
_held_locks: set[int] = set()


def _drop_inherited_locks() -> None:
    if not _held_locks:
        return
    null = os.open(os.devnull, os.O_RDONLY)
    for fd in _held_locks:
        os.dup2(null, fd)
    os.close(null)
    _held_locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_locks)


class SweepStore:
    def __init__(self, var: Path, sweep_id: str) -> None:
        self.sweep_id = sweep_id
        self.directory = var / "sweeps" / sweep_id
        self._lock: Any = None

    def open(self, description: dict[str, Any]) -> None:
        """Creates the store (or opens the existing one) and takes its lock."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._take_lock()
            if not (self.directory / META).exists():
                write_atomically(self.directory / META, (json.dumps(description, indent=2) + "\n").encode())
        except OSError as e:
            raise OutputError(
                f"cannot open sweep store {self.directory}: {e.strerror or e}",
                code=Code.OUTPUT_IO,
                context={"file": str(self.directory)},
            ) from None

    def close(self) -> None:
        if self._lock is not None:
            _held_locks.discard(self._lock.fileno())
            self._lock.close()  # releases the flock
            self._lock = None

    def _take_lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform: one sweep at a time is up to the user
            return
        handle = open(self.directory / LOCK, "a+b")  # held until close()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ConfigError(
                f"sweep {self.sweep_id} is running in another process (its store {self.directory} is locked); "
                "wait for it, or give this sweep another sweep_id",
                code=Code.CONFIG_USAGE,
                context={"field": "sweep_id"},
            ) from None
        self._lock = handle
        _held_locks.add(handle.fileno())

    def entries(self) -> dict[str, dict[str, Any]]:
        """The latest entry per point key."""
        path = self.directory / INDEX
        if not path.exists():
            return {}
        lines = path.read_bytes().split(b"\n")
        latest: dict[str, dict[str, Any]] = {}
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):  # no newline after it: the write a crash interrupted
                    _log.warning("sweep %s: ignoring the torn last line of %s", self.sweep_id, path)
                    continue
                raise ConfigError(
                    f"{path} line {number} is not JSON; the store is damaged: remove the line, or give the sweep "
                    "a new sweep_id (resume=False ignores the store)",
                    code=Code.CONFIG_JSON_INVALID,
                    context={"file": str(path), "row": str(number)},
                ) from None
            latest[entry["key"]] = entry
        return latest

    def append(self, entry: dict[str, Any]) -> None:
        """Records one finished point durably."""
        line = json.dumps({**entry, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, default=_plain)
        path = self.directory / INDEX
        with open(path, "ab") as f:
            if f.tell() and not _ends_with_newline(path):
                f.write(b"\n")  # after a torn line, start a fresh one
            f.write(line.encode("utf-8") + b"\n")
            f.flush()
            os.fsync(f.fileno())

    def write_summary(self, frame: Any) -> Path:
        """Atomic but not fsynced: the summary is rebuilt from `points.jsonl` by every call."""
        path = self.directory / SUMMARY
        write_atomically(path, frame.to_csv(index=False).encode("utf-8"), durable=False)
        return path


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _plain(value: Any) -> Any:
    """numpy scalars and other values a grid may hold, for JSON."""
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)


def write_atomically(path: Path, data: bytes, *, durable: bool = True) -> None:
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class Runs:
    """Where a sweep's runs live: a local var dir, or an fsspec store URL."""

    location: str
    is_url: bool

    @classmethod
    def at(cls, location: str | os.PathLike[str]) -> Runs:
        text = str(location)
        return cls(text, is_url(text))

    def run_dir(self, run_id: str) -> str:
        return f"{self.location.rstrip('/')}/results/backtests/{run_id}" if self.is_url else str(self._local(run_id))

    def complete(self, run_id: str) -> bool:
        if self.is_url:
            fs, root = transfer.filesystem(self.location)
            return fs.exists(f"{root.rstrip('/')}/results/backtests/{run_id}/{transfer.COMPLETE_MARKER}")
        return (self._local(run_id) / transfer.COMPLETE_MARKER).is_file()

    def _local(self, run_id: str) -> Path:
        return Path(self.location) / "results" / "backtests" / run_id


def read_run_file(run_dir: str, name: str) -> bytes | None:
    """A file of a run directory (a local path or a store URL); None when the run has no such file."""
    if is_url(run_dir):
        fs, path = transfer.filesystem(run_dir)
        target = f"{path.rstrip('/')}/{name}"
        return fs.cat_file(target) if fs.exists(target) else None
    path = Path(run_dir) / name
    return path.read_bytes() if path.is_file() else None


def is_url(location: str) -> bool:
    """An fsspec URL (`s3://...`); `file://` and plain paths are local directories."""
    return "://" in location and not location.startswith("file://")


def local_path(location: str) -> Path:
    return Path(location.removeprefix("file://"))


class Reuse:
    """Whether a recorded point still stands for the point at hand: its run is still there and
    the data files its run read are unchanged (each file hashed once per sweep)."""

    def __init__(self, data_root: Path | None) -> None:
        self.data_root = data_root
        self._checked: dict[tuple[Any, ...], bool] = {}
        self._unseen_root_noted = False

    def usable(self, entry: dict[str, Any]) -> bool:
        runs = Runs.at(entry["location"])
        if entry["status"] == "success" and not runs.complete(entry["run_id"]):
            _log.info("run %s of a recorded point is gone from %s; running it again", entry["run_id"], runs.location)
            return False
        return entry["status"] != "success" or self._same_data(entry["record"])

    def _same_data(self, record: dict[str, Any]) -> bool:
        from omega_v2 import provenance

        dataset = record["dataset"]
        files = tuple((f["name"], f["sha256"]) for f in dataset["files"])
        key = (dataset["symbol"], files, tuple((s["name"], s["sha256"]) for s in dataset["specs"]))
        if key not in self._checked:
            reads_files = any(not f["name"].endswith(provenance.FRAME_SUFFIX) for f in dataset["files"])
            if reads_files and (self.data_root is None or not self.data_root.is_dir()):
                # The data lives on the workers only: the record is all there is to go by.
                if not self._unseen_root_noted:
                    _log.info("data root not visible here: recorded points are reused without re-hashing their files")
                    self._unseen_root_noted = True
                self._checked[key] = True
                return True
            recorded = provenance.RecordedRun(Path(), {"run_id": "", "dataset": dataset}, "")
            try:
                provenance.data_root(recorded, self.data_root)
                self._checked[key] = True
            except OmegaError as e:
                _log.info("recorded points no longer match their data (%s); running them again", e.code)
                self._checked[key] = False
        return self._checked[key]
