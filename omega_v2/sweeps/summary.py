"""A sweep's summary: one row per point, the grid parameters as columns, ranked; CSV, Parquet
and a heatmap of one metric over two parameters."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_v2.errors import Code, ConfigError

STATUSES = ("success", "reused", "failed")
#: Columns after the parameters and before the metrics.
RUN_COLUMNS = ("status", "run_id", "error")
#: Columns after the metrics: where the run is and what it cost (ms), which worker ran it and
#: that worker's resident memory after it (MB).
COST_COLUMNS = ("engine_ms", "task_ms", "worker", "worker_rss_mb", "run_dir")


def metric_names() -> list[str]:
    from omega_v2 import _core

    return [m[0] for m in _core.metric_catalogue()]


@dataclass(frozen=True)
class Ranking:
    """`metric` (higher is better), or `-metric` (lower is better, e.g. `-max_drawdown`)."""

    metric: str
    descending: bool

    @classmethod
    def parse(cls, rank_by: str) -> Ranking:
        metric = rank_by[1:] if isinstance(rank_by, str) and rank_by.startswith("-") else rank_by
        names = metric_names()
        if metric not in names:
            raise ConfigError(
                f"rank_by must name a metric ({', '.join(names)}), optionally with a leading `-` for lower is better",
                code=Code.CONFIG_INVALID,
                context={"field": "rank_by"},
            )
        return cls(metric, not rank_by.startswith("-"))

    def score(self, value: Any) -> float | None:
        """The value as a number to maximise; None when it is not a finite number ("n/a")."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        return value if self.descending else -value


def frame(rows: list[dict[str, Any]], params: list[str], ranking: Ranking) -> Any:
    """The ranked summary: successful and reused points by score, best first (ties keep grid
    order), then points without a score, then failures."""
    import pandas as pd

    def order(item: tuple[int, dict[str, Any]]) -> tuple[int, float, int]:
        position, row = item
        score = ranking.score(row.get(ranking.metric)) if row["status"] != "failed" else None
        group = 2 if row["status"] == "failed" else (1 if score is None else 0)
        return (group, -(score or 0.0), position)

    ordered = [row for _, row in sorted(enumerate(rows), key=order)]
    metrics = metric_names()
    columns = [*params, *RUN_COLUMNS, *metrics, *COST_COLUMNS]
    table = pd.DataFrame(ordered, columns=columns)
    for name in metrics:  # "n/a" (too few samples) becomes NaN, so metric columns stay numeric
        table[name] = pd.to_numeric(table[name], errors="coerce")
    return table


@dataclass(frozen=True, eq=False)
class SweepResult:
    """What :func:`omega_v2.sweep` returns: the ranked `summary` (a pandas DataFrame with one row
    per point: the grid parameters, `status` (success, reused or failed), `run_id`, `error`,
    every metric, costs), the `sweep_id` and the store `directory` (`<var>/sweeps/<sweep_id>`)."""

    sweep_id: str
    summary: Any
    params: tuple[str, ...]
    rank_by: str
    directory: Path

    @property
    def best(self) -> Any:
        """The best point's row (a pandas Series), or None when no point succeeded."""
        ok = self.summary[self.summary["status"] != "failed"]
        return None if ok.empty else ok.iloc[0]

    @property
    def counts(self) -> dict[str, int]:
        """Points per status."""
        return {s: int((self.summary["status"] == s).sum()) for s in STATUSES}

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        self.summary.to_csv(path, index=False)
        return Path(path)

    def to_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Needs pyarrow (`pip install pyarrow`)."""
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ImportError("writing Parquet needs pyarrow: pip install pyarrow") from None
        self.summary.to_parquet(path, index=False)
        return Path(path)

    def heatmap(self, x: str, y: str, metric: str | None = None, *, agg: str = "max") -> Any:
        """`metric` (default: the rank metric) over grid parameters `x` and `y`, as a matplotlib
        figure with each cell's value written in it. Points that differ in other parameters
        share a cell, combined by `agg` (a pandas aggregation: max, min, mean...). Needs the
        `plot` extra (`pip install "omega-v2[plot]"`)."""
        import numpy as np

        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError('the heatmap needs matplotlib: pip install "omega-v2[plot]"') from None
        metric = metric or self.rank_by.lstrip("-")
        for name, what in ((x, "x"), (y, "y")):
            if name not in self.params:
                raise ConfigError(
                    f"heatmap {what} must be a grid parameter of this sweep: {', '.join(self.params)}",
                    code=Code.CONFIG_INVALID,
                    context={"field": what},
                )
        if metric not in metric_names():
            raise ConfigError(
                f"heatmap metric must be one of {', '.join(metric_names())}",
                code=Code.CONFIG_INVALID,
                context={"field": "metric"},
            )
        ok = self.summary[self.summary["status"] != "failed"]
        grid = ok.pivot_table(index=y, columns=x, values=metric, aggfunc=agg)
        cells = grid.to_numpy(dtype=float)
        fig, ax = plt.subplots(figsize=(1.2 + 0.9 * max(len(grid.columns), 2), 1.0 + 0.6 * max(len(grid.index), 2)))
        image = ax.imshow(cells, aspect="auto", cmap="viridis", origin="lower")
        ax.set_xticks(range(len(grid.columns)), [str(v) for v in grid.columns])
        ax.set_yticks(range(len(grid.index)), [str(v) for v in grid.index])
        ax.set(xlabel=x, ylabel=y, title=f"{metric} ({self.sweep_id})")
        for (row, col), value in np.ndenumerate(cells):
            if not np.isnan(value):
                ax.text(col, row, f"{value:.4g}", ha="center", va="center", color="white", fontsize=8)
        fig.colorbar(image, ax=ax, label=metric)
        fig.tight_layout()
        return fig

    def __repr__(self) -> str:
        counts = ", ".join(f"{s} {n}" for s, n in self.counts.items() if n)
        return f"SweepResult({self.sweep_id}: {len(self.summary)} points, {counts}; ranked by {self.rank_by})"

    def _repr_html_(self) -> str:
        return f"<p><b>{self.__repr__()}</b></p>" + self.summary.to_html(max_rows=20)
