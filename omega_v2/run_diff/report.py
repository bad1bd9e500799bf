"""`diff_runs(a, b) -> RunDiff`: every section of the comparison, as data and as text."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

from omega_v2 import paths
from omega_v2.run_diff import (
    config_section,
    counters_section,
    dataset_section,
    engine_section,
    equity_section,
    metrics_section,
    trades_section,
)
from omega_v2.run_diff.artefacts import RunArtefacts, differing, load

LABEL_WIDTH = 10


class Section(Protocol):
    """What every section offers: a label, a verdict, text and data."""

    label: str

    @property
    def identical(self) -> bool: ...

    def summary(self) -> str: ...

    def details(self) -> list[str]: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RunDiff:
    """Why two runs differ. `identical` is True when their results (trades.json,
    equity.csv, metrics.json) are byte-identical, whatever else differs."""

    run_a: RunArtefacts
    run_b: RunArtefacts
    config: config_section.ConfigSection
    data: dataset_section.DatasetSection
    engine: engine_section.EngineSection
    counters: counters_section.CountersSection
    metrics: metrics_section.MetricsSection
    trades: trades_section.TradesSection
    equity: equity_section.EquitySection
    differing_artefacts: tuple[str, ...]  # of trades.json, equity.csv, metrics.json

    @property
    def identical(self) -> bool:
        return not self.differing_artefacts

    @property
    def sections(self) -> tuple[Section, ...]:
        return (self.config, self.data, self.engine, self.counters, self.metrics, self.trades, self.equity)

    def to_dict(self) -> dict[str, Any]:
        """Everything, every metric included; config values only where the text shows them."""
        runs = {side: {"name": r.name, "run_dir": str(r.run_dir)} for side, r in (("a", self.run_a), ("b", self.run_b))}
        out: dict[str, Any] = {
            "identical": self.identical,
            "differing_artefacts": list(self.differing_artefacts),
            "runs": runs,
        }
        out.update({s.label: s.to_dict() for s in self.sections})
        return out

    def render(self, *, all_metrics: bool = False) -> str:
        """Compact text: one summary line per section, details indented below it; the
        metrics table lists only differing metrics unless `all_metrics`."""
        verdict = (
            "results identical (trades.json, equity.csv, metrics.json byte-identical)"
            if self.identical
            else f"results differ: {', '.join(self.differing_artefacts)}"
        )
        lines = [f"A: {self.run_a.name}  ({self.run_a.run_dir})", f"B: {self.run_b.name}  ({self.run_b.run_dir})"]
        lines += [verdict, ""]
        for section in self.sections:
            lines.append(f"{section.label:<{LABEL_WIDTH}}{section.summary()}")
            lines += self.metrics.details(all_metrics=all_metrics) if section is self.metrics else section.details()
        return "\n".join(lines)


def diff_runs(
    run_a: str | os.PathLike[str],
    run_b: str | os.PathLike[str],
    *,
    var_dir: str | os.PathLike[str] | None = None,
    show_values: bool = False,
) -> RunDiff:
    """Compares two finished runs, each a run_id under the var dir or a run directory.

    `show_values` shows the values of changed config fields beyond the allowlisted ones
    (which are always shown) when both runs have a config.json; the seed is never shown.
    Raises :class:`UnreadableRunError` when a run is missing, incomplete or unreadable.
    """
    var = paths.var_dir(var_dir)
    a, b = load(run_a, var), load(run_b, var)
    artefacts = differing(a, b)
    return RunDiff(
        run_a=a,
        run_b=b,
        config=config_section.compare(a, b, show_values=show_values),
        data=dataset_section.compare(a, b),
        engine=engine_section.compare(a.meta, b.meta),
        counters=counters_section.compare(a.meta, b.meta),
        metrics=metrics_section.compare(a.metrics, b.metrics),
        trades=trades_section.compare(a.trades_json, b.trades_json),
        equity=equity_section.compare(a, b, byte_identical="equity.csv" not in artefacts),
        differing_artefacts=artefacts,
    )
