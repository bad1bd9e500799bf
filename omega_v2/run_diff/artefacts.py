"""What a finished run left behind, located and read for comparison.

meta.json, config.json and metrics.json are small and read whole. trades.json and
equity.csv can hold millions of rows (years of M1 bars), so they are only located here and
streamed by their sections; "identical" means byte-identical and is decided by comparing
the files chunk by chunk. `equity.csv` is optional (`outputs.equity = "none"`), and so is
`config.json` (runs written before it existed).
"""

from __future__ import annotations

import filecmp
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_v2 import paths, run_files
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
        return _load(paths.resolve_run(run, var))
    except OmegaError as e:
        raise UnreadableRunError(str(e)) from None


def _load(run_dir: Path) -> RunArtefacts:
    metrics_bytes = run_files.read_bytes(run_dir / "metrics.json")
    metrics = run_files.parse_json(run_dir / "metrics.json", metrics_bytes)
    config_path = run_dir / "config.json"
    return RunArtefacts(
        run_dir=run_dir,
        meta=run_files.read_json(run_dir / "meta.json"),
        config=run_files.read_json(config_path) if config_path.exists() else None,
        metrics=run_files.field(metrics, run_dir / "metrics.json", "metrics", dict),
        metrics_bytes=metrics_bytes,
        trades_json=run_files.required(run_dir / "trades.json"),
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
