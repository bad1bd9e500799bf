"""The bench's sections, in report order: name -> function of the shared :class:`Bench` that
returns the section's JSON-ready dict. A new section (a Python per-bar strategy against
backtesting.py's `Strategy.next`, parameter sweeps on a process pool or a Dask LocalCluster) is
one module here and one entry below; `--only` and the report pick it up from this registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omega_v2.bench.context import Bench
from omega_v2.bench.sections import e2e, imports, loading, own_strategy, peers, scale, sweeps, write

Section = Callable[[Bench], dict[str, Any]]

SECTIONS: dict[str, Section] = {
    "e2e": e2e.section,
    "peers": peers.section,
    "own_strategy": own_strategy.section,
    "scale": scale.section,
    "import": imports.section,
    "loading": loading.section,
    "write": write.section,
    "sweeps": sweeps.section,
}
