"""The symbol specs and execution costs shipped with the package (the files the engine reads
when no `OMEGA_SYMBOL_SPECS_FILE` / `OMEGA_EXECUTION_COSTS_FILE` replaces them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omega_v2.reference.markers import code, table

_DATA = Path(__file__).resolve().parent.parent / "data"
SPEC_KEYS = (
    "base_currency",
    "quote_currency",
    "contract_size",
    "pip_size",
    "tick_size",
    "volume_min",
    "volume_step",
    "volume_max",
    "min_sl_distance_pips",
)


def _load(name: str) -> Any:
    return json.loads((_DATA / name).read_text(encoding="utf-8"))


def symbol_specs_table() -> str:
    specs = _load("symbol_specs.json")
    rows = ([code(symbol), *(_cell(spec[k]) for k in SPEC_KEYS)] for symbol, spec in specs.items())
    return table(["symbol", *SPEC_KEYS], rows)


def execution_costs_table() -> str:
    """The `default` entry and every per-symbol override."""
    costs = _load("execution_costs.json")
    entries = {"default": costs["default"], **costs.get("symbols", {})}
    keys = list(costs["default"])
    rows = ([code(name), *(_cell(entry[k]) if k in entry else "" for k in keys)] for name, entry in entries.items())
    return table(["entry", *keys], rows)


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
