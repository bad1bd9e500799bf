"""What a finished run left behind, read from its directory for comparison.

The result artefacts are kept as raw bytes: "identical" means byte-identical, and the
parsed forms are built only where a section needs them. `equity.csv` is optional
(`outputs.equity = "none"`), and so is `config.json` (runs written before it existed).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_v2 import paths
from omega_v2.errors import OmegaError

# The artefacts a deterministic run reproduces byte for byte.
RESULT_ARTEFACTS = ("trades.json", "equity.csv", "metrics.json")
OPTIONAL = frozenset({"equity.csv", "config.json"})


class UnreadableRunError(OmegaError):
    """A run is missing, incomplete or unreadable; the message names the run or the file."""

    default_code = "run.unreadable"


@dataclass(frozen=True)
class RunArtefacts:
    run_dir: Path
    meta: dict[str, Any]
    config: dict[str, Any] | None  # config.json; None for runs that predate it
    metrics: dict[str, Any]  # metrics.json["metrics"]
    trades: list[dict[str, Any]]
    raw: dict[str, bytes | None]  # RESULT_ARTEFACTS by name; None when the file is absent

    @property
    def name(self) -> str:
        return self.run_dir.name

    @property
    def equity_csv(self) -> bytes | None:
        return self.raw["equity.csv"]


def load(run: str | os.PathLike[str], var: Path) -> RunArtefacts:
    """Reads a run given as a run_id under `var` or as a run directory."""
    try:
        run_dir = paths.resolve_run(run, var)
    except OmegaError as e:
        raise UnreadableRunError(str(e), code=e.code) from None
    raw = {name: _read(run_dir / name) for name in RESULT_ARTEFACTS}
    metrics = _json(run_dir / "metrics.json", raw["metrics.json"], dict)
    if not isinstance(metrics.get("metrics"), dict):
        raise UnreadableRunError(f'{run_dir / "metrics.json"} must hold an object with a "metrics" object')
    config_bytes = _read(run_dir / "config.json")
    return RunArtefacts(
        run_dir=run_dir,
        meta=_json(run_dir / "meta.json", _read(run_dir / "meta.json"), dict),
        config=None if config_bytes is None else _json(run_dir / "config.json", config_bytes, dict),
        metrics=metrics["metrics"],
        trades=_json(run_dir / "trades.json", raw["trades.json"], list),
        raw=raw,
    )


def _read(path: Path) -> bytes | None:
    """The file's bytes; None for a missing optional file."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        if path.name in OPTIONAL:
            return None
        raise UnreadableRunError(f"run directory {path.parent} is incomplete: {path.name} is missing") from None
    except OSError as e:
        raise UnreadableRunError(f"cannot read {path}: {e.strerror or type(e).__name__}") from None


def _json(path: Path, data: bytes | None, kind: type) -> Any:
    try:
        parsed = json.loads(data or b"")
    except json.JSONDecodeError as e:
        raise UnreadableRunError(f"{path} is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except UnicodeDecodeError:
        raise UnreadableRunError(f"{path} is not UTF-8 text") from None
    if not isinstance(parsed, kind):
        raise UnreadableRunError(f"{path} must hold a JSON {'object' if kind is dict else 'array'}")
    return parsed
