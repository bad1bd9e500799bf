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
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

LOGGER_NAME = "omega_v2"
#: Overrides the Python log level of runs (DEBUG, INFO, WARNING, ...), like RUST_LOG for Rust.
PY_LOG_ENV = "OMEGA_PY_LOG"

_current_run: contextvars.ContextVar[str | None] = contextvars.ContextVar("omega_v2_run_id", default=None)
_LINE = re.compile(r"^(\S+)\s+(\w+)\s+\[run_id=(\S+?)\]\s+(\S+?):\s(.*)$")


def current_run_id() -> str | None:
    return _current_run.get()


class _UtcFormatter(logging.Formatter):
    """RFC 3339 UTC timestamps with microseconds, like the Rust logs, so both sort together."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        ts = datetime.fromtimestamp(record.created, tz=timezone.utc)
        return ts.isoformat(timespec="microseconds").replace("+00:00", "Z")


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


@contextlib.contextmanager
def run_log(path: Path, run_id: str, level: int) -> Iterator[logging.Logger]:
    """Attaches the run's file handler for the duration of the block, then removes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(level)
    handler.setFormatter(_UtcFormatter("%(asctime)s %(levelname)s [run_id=%(run_id)s] %(name)s: %(message)s"))
    handler.addFilter(_RunFilter(run_id))
    logger = logging.getLogger(LOGGER_NAME)
    # The package logger must pass the run's level to its handler; it is ours to set.
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    token = _current_run.set(run_id)
    logger.addHandler(handler)
    try:
        yield logging.getLogger(f"{LOGGER_NAME}.runner")
    finally:
        logger.removeHandler(handler)
        _current_run.reset(token)
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
            continue  # traceback continuation lines belong to the record above
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
