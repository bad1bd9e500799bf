"""The Python side of run logging and the merged timeline of a run.

Each run gets `var/logs/<run_id>.python.log`: a handler on the `omega_v2` logger, attached for
the run only, that accepts only records made while that run is current in the calling context
(a `ContextVar`, so parallel runs in threads never see each other's records). The Rust engine
writes its own `.log`/`.jsonl`; the streams are merged by timestamp only when read.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omega_v2.errors import OutputError

LOGGER_NAME = "omega_v2"
#: Overrides the Python log level of runs (DEBUG, INFO, WARNING, ...), like RUST_LOG for Rust.
PY_LOG_ENV = "OMEGA_PY_LOG"

_current_run: contextvars.ContextVar[str | None] = contextvars.ContextVar("omega_v2_run_id", default=None)
_LINE = re.compile(r"^(\S+)\s+(\w+)\s+\[run_id=(\S+?)\]\s+(\S+?):\s(.*)$")


def current_run_id() -> str | None:
    return _current_run.get()


class _UtcFormatter(logging.Formatter):
    """RFC 3339 UTC timestamps with microseconds, like the Rust logs, so both sort together.
    Multi-line records (tracebacks) repeat the prefix on every line, so each line carries the
    run_id and stays attributable when grepped or merged."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        ts = datetime.fromtimestamp(record.created, tz=timezone.utc)
        return ts.isoformat(timespec="microseconds").replace("+00:00", "Z")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if "\n" not in text:
            return text
        first, *rest = text.split("\n")
        prefix = first[: len(first) - len(record.getMessage().split("\n")[0])]
        return "\n".join([first, *(prefix + "| " + line for line in rest)])


class _RunFilter(logging.Filter):
    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def filter(self, record: logging.LogRecord) -> bool:
        if _current_run.get() != self.run_id:
            return False
        record.run_id = self.run_id
        return True


def python_level(run_mode: str) -> int:
    """INFO in dev, WARNING in prod, unless `OMEGA_PY_LOG` names a level."""
    override = os.environ.get(PY_LOG_ENV, "").strip().upper()
    if override:
        level = logging.getLevelName(override)
        if isinstance(level, int):
            return level
    return logging.WARNING if run_mode == "prod" else logging.INFO


class _PackageLevel:
    """Lowers the `omega_v2` logger's level while runs need it and restores the caller's level
    when the last concurrent run ends (runs in threads overlap, so it is reference-counted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: list[int] = []
        self._saved = logging.NOTSET

    def acquire(self, level: int) -> None:
        with self._lock:
            logger = logging.getLogger(LOGGER_NAME)
            if not self._active:
                self._saved = logger.level
            self._active.append(level)
            wanted = min(self._active)
            if logger.level == logging.NOTSET or logger.level > wanted:
                logger.setLevel(wanted)

    def release(self, level: int) -> None:
        with self._lock:
            self._active.remove(level)
            logger = logging.getLogger(LOGGER_NAME)
            logger.setLevel(min(self._active) if self._active else self._saved)


_package_level = _PackageLevel()


@contextlib.contextmanager
def run_log(path: Path, run_id: str, level: int) -> Iterator[logging.Logger]:
    """Attaches the run's file handler for the duration of the block, then removes it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as e:
        raise OutputError(
            f"cannot create the run's Python log {path}: {e.strerror or e}; check that the var dir is writable",
            run_id=run_id,
            code="output.io",
            context={"file": str(path)},
        ) from None
    handler.setLevel(level)
    handler.setFormatter(_UtcFormatter("%(asctime)s %(levelname)s [run_id=%(run_id)s] %(name)s: %(message)s"))
    handler.addFilter(_RunFilter(run_id))
    logger = logging.getLogger(LOGGER_NAME)
    _package_level.acquire(level)
    token = _current_run.set(run_id)
    logger.addHandler(handler)
    try:
        yield logging.getLogger(f"{LOGGER_NAME}.runner")
    finally:
        logger.removeHandler(handler)
        _current_run.reset(token)
        _package_level.release(level)
        handler.close()


def read_timeline(files: dict[str, Path]) -> list[dict[str, Any]]:
    """Rust JSON records and Python records of one run as one list sorted by timestamp.

    Each item has `timestamp`, `source` (`rust`/`python`), `level`, `target`, `message`,
    `span`, `component`, `phase` and `fields`.
    """
    records: list[dict[str, Any]] = []
    if files["rust_json"].is_file():
        for line in files["rust_json"].read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                records.append(
                    {
                        "timestamp": rec.get("timestamp"),
                        "source": "rust",
                        "level": rec.get("level"),
                        "target": rec.get("target"),
                        "message": rec.get("message"),
                        "span": rec.get("span"),
                        "component": rec.get("component"),
                        "phase": rec.get("phase"),
                        "fields": rec.get("fields", {}),
                    }
                )
    if files["python"].is_file():
        records.extend(_python_records(files["python"]))
    records.sort(key=lambda r: r["timestamp"] or "")
    return records


def _python_records(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        ts, level, _run_id, target, message = m.groups()
        yield {
            "timestamp": ts,
            "source": "python",
            "level": "WARN" if level == "WARNING" else level,
            "target": target,
            "message": message,
            "span": None,
            "component": "python",
            "phase": None,
            "fields": {},
        }
