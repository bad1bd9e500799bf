"""The metrics of `metrics.json`, from the engine's catalogue (the same definitions the file
carries under `definitions`)."""

from __future__ import annotations

from omega_v2 import _core
from omega_v2.reference.markers import code, table


def metrics_table() -> str:
    rows = (
        (code(key), unit, kind, domain, source, description)
        for key, unit, description, domain, source, kind in _core.metric_catalogue()
    )
    return table(["key", "unit", "type", "domain", "source", "definition"], rows)
