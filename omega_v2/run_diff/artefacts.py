"""What a finished run left behind, located and read for comparison.

meta.json, config.json and metrics.json are small and read whole. trades.json and
equity.csv can hold millions of rows (years of M1 bars), so they are only located here and
streamed by their sections; "identical" means byte-identical and is decided by comparing
the files chunk by chunk. `equity.csv` is optional (`outputs.equity = "none"`), and so is
`config.json` (runs written before it existed).
"""

from __future__ import annotations

import filecmp
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_v2 import paths
from omega_v2._core import RESULT_ARTEFACTS
from omega_v2.errors import OmegaError


class UnreadableRunError(Exception):
    """A run is missing, incomplete or unreadable; the message names the run or the file."""


@dataclass(frozen=True)
class RunArtefacts:
    run_dir: Path
    meta: dict[str, Any]
    config: dict[str, Any] | None  # config.json; None for runs that predate it
    metrics: dict[str, Any]  # metrics.json["metrics"]
    metrics_bytes: bytes
    trades_json: Path
    equity_csv: Path | None  # None: the run wrote no equity curve

    @property
    def name(self) -> str:
        return self.run_dir.name


def load(run: str | os.PathLike[str], var: Path) -> RunArtefacts:
    """Reads a run given as a run_id under `var` or as a run directory."""
    try:
        run_dir = paths.resolve_run(run, var)
    except OmegaError as e:
        raise UnreadableRunError(str(e)) from None
    metrics_bytes = _read(run_dir / "metrics.json")
    metrics = _json(run_dir / "metrics.json", metrics_bytes)
    if not isinstance(metrics.get("metrics"), dict):
        raise UnreadableRunError(f'{run_dir / "metrics.json"} must hold an object with a "metrics" object')
    config_path = run_dir / "config.json"
    return RunArtefacts(
        run_dir=run_dir,
        meta=_json(run_dir / "meta.json", _read(run_dir / "meta.json")),
        config=_json(config_path, _read(config_path)) if config_path.exists() else None,
        metrics=metrics["metrics"],
        metrics_bytes=metrics_bytes,
        trades_json=_required(run_dir / "trades.json"),
        equity_csv=run_dir / "equity.csv" if (run_dir / "equity.csv").exists() else None,
    )


def differing(a: RunArtefacts, b: RunArtefacts) -> tuple[str, ...]:
    """The RESULT_ARTEFACTS whose bytes differ (an equity.csv only one run wrote differs)."""
    same = {
        "trades.json": _same_file(a.trades_json, b.trades_json),
        "equity.csv": _same_file(a.equity_csv, b.equity_csv),
        "metrics.json": a.metrics_bytes == b.metrics_bytes,
    }
    return tuple(name for name in RESULT_ARTEFACTS if not same[name])


def _same_file(a: Path | None, b: Path | None) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return filecmp.cmp(a, b, shallow=False)
    except OSError as e:
        raise UnreadableRunError(f"cannot compare {a} with {b}: {e.strerror or type(e).__name__}") from None


def _required(path: Path) -> Path:
    if not path.is_file():
        raise UnreadableRunError(f"run directory {path.parent} is incomplete: {path.name} is missing")
    return path


def _read(path: Path) -> bytes:
    try:
        return _required(path).read_bytes()
    except OSError as e:
        raise UnreadableRunError(f"cannot read {path}: {e.strerror or type(e).__name__}") from None


def _json(path: Path, data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except json.JSONDecodeError as e:
        raise UnreadableRunError(f"{path} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except UnicodeDecodeError:
        raise UnreadableRunError(f"{path} is not UTF-8 text") from None
    if not isinstance(parsed, dict):
        raise UnreadableRunError(f"{path} must hold a JSON object")
    return parsed
