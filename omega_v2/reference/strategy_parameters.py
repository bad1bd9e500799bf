"""The parameters of each registered strategy, from its parameter model."""

from __future__ import annotations

from omega_v2.config import STRATEGIES
from omega_v2.reference.fields import rows
from omega_v2.reference.markers import table


def names() -> list[str]:
    """Every registered `strategy_name`."""
    return sorted(STRATEGIES)


def parameters_table(strategy_name: str) -> str:
    """The `strategy_parameters` of one strategy; free-form models say so."""
    model = STRATEGIES[strategy_name]
    header = f'`strategy_name: "{strategy_name}"` - {model.__doc__.strip().splitlines()[0]}\n\n'
    if not model.model_fields:
        return header + "`strategy_parameters` is any JSON object of finite values; your class's `Params` checks it.\n"
    cells = (row.cells() for row in rows(model))
    return header + table(["parameter", "type", "default", "bounds", "meaning"], cells)
