"""The config reference: every field of `OmegaConfig` with its type, default, rule and meaning,
and a complete config with every default written out."""

from __future__ import annotations

import json

from omega_v2.config import OmegaConfig
from omega_v2.reference.fields import rows
from omega_v2.reference.markers import table

#: The smallest config a user writes: the required fields only.
MINIMAL = {
    "schema_version": "2",
    "strategy_name": "sma_crossover",
    "symbol": "EURUSD",
    "start_date": "2025-01-06",
    "end_date": "2025-01-31",
}


def fields_table() -> str:
    """Every key, nested sections under dotted keys (`account.risk_per_trade`)."""
    return table(["key", "type", "default", "rule", "meaning"], (row.cells() for row in rows(OmegaConfig)))


def full_example() -> str:
    """`MINIMAL` with every default applied, as `validate --write-normalized` writes it (dev
    mode, so the seed is 42)."""
    dump = OmegaConfig.model_validate(MINIMAL).model_dump(mode="json")
    return "```json\n" + json.dumps(dump, indent=2) + "\n```\n"
