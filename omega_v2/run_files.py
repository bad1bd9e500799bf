"""Reading what a finished run recorded (meta.json, config.json, trades.json ...): every file
that is missing, unreadable or not the JSON omega-v2 wrote becomes one `RunNotFound` with code
`run.unreadable` naming the file, so replay, explain and diff never fail with a raw traceback
on a run directory that was damaged after the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omega_v2.errors import Code, RunNotFound


def unreadable(path: Path, what: str) -> RunNotFound:
    return RunNotFound(f"{path} {what}", code=Code.RUN_UNREADABLE, context={"file": str(path)})


def required(path: Path) -> Path:
    if not path.is_file():
        raise RunNotFound(
            f"run directory {path.parent} is incomplete: {path.name} is missing",
            code=Code.RUN_UNREADABLE,
            context={"file": str(path)},
        )
    return path


def read_bytes(path: Path) -> bytes:
    try:
        return required(path).read_bytes()
    except OSError as e:
        raise unreadable(path, f"cannot be read: {e.strerror or type(e).__name__}") from None


def parse_json(path: Path, data: bytes, expected: type = dict) -> Any:
    """`data` (the bytes of `path`) as JSON whose top level is an `expected` (object or array)."""
    try:
        parsed = json.loads(data)
    except json.JSONDecodeError as e:
        raise unreadable(path, f"is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except UnicodeDecodeError:
        raise unreadable(path, "is not UTF-8 text") from None
    if not isinstance(parsed, expected):
        raise unreadable(path, f"must hold a JSON {'object' if expected is dict else 'array'}")
    return parsed


def read_json(path: Path, expected: type = dict) -> Any:
    return parse_json(path, read_bytes(path), expected)


def field(document: dict[str, Any], path: Path, dotted: str, expected: type) -> Any:
    """`document[a][b]...` for `dotted` = "a.b...", checked to be an `expected`."""
    value: Any = document
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, expected):
        raise unreadable(path, f"is not what omega-v2 wrote: `{dotted}` is missing or not a {expected.__name__}")
    return value
