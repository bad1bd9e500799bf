"""The Python side of run logging and the merged timeline of a run.

Each run gets `var/logs/<run_id>.python.log`: a handler on the root logger, attached for the
run only, that accepts only records made while that run is current in the calling context (a
`ContextVar`, so parallel runs in threads never see each other's records). The `omega_v2`
logger is lowered to the run's level while runs need it; other loggers (a user strategy's)
keep their own levels. The Rust engine writes its own `.log`/`.jsonl`; the streams are merged
by timestamp only when read.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from omega_v2.errors import Code, OutputError

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
        ts = datetime.fromtimestamp(record.created, tz=UTC)
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


class RunLogHandler(logging.FileHandler):
    """The run's `.python.log`: created exclusively (never another run's file, never through a
    planted link), and a failed write (a full disk) is kept, not printed as `--- Logging error
    ---`: `check` and `sync` raise it as an `OutputError` naming the file."""

    def __init__(self, path: Path, run_id: str) -> None:
        self.run_id = run_id
        self.failure: BaseException | None = None
        super().__init__(path, mode="x", encoding="utf-8")

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self.failure = self.failure or sys.exc_info()[1]

    def check(self) -> None:
        if self.failure is not None:
            reason = getattr(self.failure, "strerror", None) or self.failure
            message = f"cannot write the run's Python log {self.baseFilename}: {reason}; free space or fix permissions"
            raise _failure(Code.OUTPUT_IO, self.baseFilename, self.run_id, message)

    def sync(self) -> None:
        """Flushes and fsyncs the file; raises the first write failure of the run."""
        try:
            self.flush()
            if self.stream is not None:
                os.fsync(self.stream.fileno())
        except OSError as e:
            self.failure = self.failure or e
        self.check()

    def close(self) -> None:
        """Closes the file even when its last flush fails (a full disk): the failure is kept
        like any other, so it never replaces the error the run is already raising."""
        try:
            super().close()
        except OSError as e:
            self.failure = self.failure or e


@dataclasses.dataclass(frozen=True)
class RunLog:
    logger: logging.Logger
    handler: RunLogHandler


def _log_dir(directory: Path, run_id: str) -> None:
    """Creates the log directory, or says why it cannot be (a file in its place is not a run
    that already exists)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        blocked = next((p for p in (directory, *directory.parents) if p.exists() and not p.is_dir()), None)
        why = f"{blocked} is a file, not a directory" if blocked is not None else (e.strerror or str(e))
        raise _failure(
            Code.OUTPUT_IO,
            blocked or directory,
            run_id,
            f"cannot create the log directory {directory}: {why}; move it away or choose another var dir",
        ) from None


@contextlib.contextmanager
def run_log(path: Path, run_id: str, level: int) -> Iterator[RunLog]:
    """Attaches the run's file handler to the root logger for the duration of the block (records
    of any logger made in the run's context: omega_v2's own and a user strategy's), then
    removes it."""
    _log_dir(path.parent, run_id)
    try:
        handler = RunLogHandler(path, run_id)
    except FileExistsError:
        if path.is_symlink():
            raise _failure(
                Code.OUTPUT_UNSAFE_PATH,
                path,
                run_id,
                f"{path} is a symbolic link; a run never writes through a link: remove it",
            ) from None
        raise _failure(
            Code.OUTPUT_EXISTS,
            path,
            run_id,
            f"run_id `{run_id}` is already used ({path} exists); choose another run_id or remove that run",
        ) from None
    except OSError as e:
        raise _failure(
            Code.OUTPUT_IO,
            path,
            run_id,
            f"cannot create the run's Python log {path}: {e.strerror or e}; check that the var dir is writable",
        ) from None
    handler.setLevel(level)
    handler.setFormatter(_UtcFormatter("%(asctime)s %(levelname)s [run_id=%(run_id)s] %(name)s: %(message)s"))
    handler.addFilter(_RunFilter(run_id))
    root = logging.getLogger()
    _package_level.acquire(level)
    token = _current_run.set(run_id)
    root.addHandler(handler)
    try:
        yield RunLog(logging.getLogger(f"{LOGGER_NAME}.runner"), handler)
    finally:
        root.removeHandler(handler)
        _current_run.reset(token)
        _package_level.release(level)
        handler.close()


#: The run context every Rust record carries; Python records of the run get the same values.
CONTEXT_KEYS = ("run_id", "strategy_name", "symbol", "timeframe")


def read_timeline(files: Any) -> list[dict[str, Any]]:
    """Rust JSON records and Python records of one run (`files`: its `RunPaths`) as one list
    sorted by timestamp.

    Each item has `timestamp`, `source` (`rust`/`python`), `level`, the context keys `run_id`,
    `strategy_name`, `symbol`, `timeframe`, then `component`, `phase`, `span`, `target`,
    `message` and `fields`.
    """
    rust = [_rust_record(json.loads(line)) for line in _lines(files.json_log)]
    context = {k: rust[0][k] for k in CONTEXT_KEYS} if rust else {"run_id": files.run_id}
    python = [_python_record(m, context) for m in map(_LINE.match, _lines(files.python_log)) if m]
    return sorted([*rust, *python], key=lambda r: r["timestamp"] or "")


#: How much of the end of a log file `failure_code` reads: the failure record is the last one
#: (a dev traceback after it included), so a huge DEBUG log is never read whole.
_TAIL_BYTES = 64 * 1024
#: A code read back from a log is shown at most this long (a log is input like any file).
_CODE_CHARS = 64
#: The runner's failure record in the Python log: `run failed code=<code>: <message>`.
_FAILED = re.compile(r"run failed code=([^:\s]+):")


def failure_code(files: Any) -> str | None:
    """The error code of the run's final `run failed` record (Rust or Python log), or None
    when neither log ends with one. `files`: the run's `RunPaths`."""
    for line in reversed(_tail_lines(files.json_log)):
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # the first line of the tail is usually cut, or a kill cut the last one
        if isinstance(rec, dict) and rec.get("message") == "run failed":
            return _bounded(str((rec.get("fields") or {}).get("code", "unknown")))
    for line in reversed(_tail_lines(files.python_log)):
        m = _LINE.match(line)
        failed = _FAILED.match(m.group(5)) if m else None
        if failed:
            return _bounded(failed.group(1))
    return None


def _bounded(code: str) -> str:
    return code if len(code) <= _CODE_CHARS else f"{code[:_CODE_CHARS]}... ({len(code)} characters)"


def _tail_lines(path: Path) -> list[str]:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - _TAIL_BYTES))
            return f.read().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise _unreadable(path, e) from None


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as e:
        raise _unreadable(path, e) from None
    return [line for line in text.splitlines() if line.strip()]


def _unreadable(path: Path, e: OSError) -> OutputError:
    return _failure(
        Code.OUTPUT_IO, path, None, f"cannot read the log file {path}: {e.strerror or e}; check its permissions"
    )


def _failure(code: str, path: Path | str, run_id: str | None, message: str) -> OutputError:
    """An `OutputError` about the log file or directory `path`."""
    return OutputError(message, run_id=run_id, code=code, context={"file": str(path)})


def _rust_record(rec: dict[str, Any]) -> dict[str, Any]:
    return {
        "timestamp": rec.get("timestamp"),
        "source": "rust",
        "level": rec.get("level"),
        **{k: rec.get(k) for k in CONTEXT_KEYS},
        "component": rec.get("component"),
        "phase": rec.get("phase"),
        "span": rec.get("span"),
        "target": rec.get("target"),
        "message": rec.get("message"),
        "fields": rec.get("fields", {}),
    }


def _python_record(m: re.Match[str], context: dict[str, Any]) -> dict[str, Any]:
    ts, level, run_id, target, message = m.groups()
    return {
        "timestamp": ts,
        "source": "python",
        "level": "WARN" if level == "WARNING" else level,
        **{k: context.get(k) for k in CONTEXT_KEYS},
        "run_id": run_id,
        "component": "python",
        "phase": None,
        "span": None,
        "target": target,
        "message": message,
        "fields": {},
    }
