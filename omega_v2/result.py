"""`RunResult`: a finished run's artefacts, read lazily from its directory.

pandas and matplotlib are imported only when a DataFrame or a plot is asked for, so scripts
that only need metrics stay light.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from omega_v2 import _core, paths
from omega_v2.logs import CONTEXT_KEYS, read_timeline

TIMELINE_COLUMNS = (
    "timestamp",
    "source",
    "level",
    *CONTEXT_KEYS,
    "component",
    "phase",
    "span",
    "target",
    "message",
    "fields",
)
#: The engine phases a profiled run's plot shows (the profiler's own start is not a phase).
PLOT_PHASES = ("data_load", "strategy_init", "backtest", "metrics", "write")


class RunResult:
    """Artefacts of one completed run (`var/results/backtests/<run_id>/`)."""

    def __init__(self, run_dir: Path, *, summary: Any = None, inputs: dict[str, Any] | None = None) -> None:
        self.run_dir = Path(run_dir)
        #: The engine's `_core.Summary` of the run that made this result (None when loaded).
        self.summary = summary
        # The in-memory data, signals and strategy the run was given (they are not stored with
        # a run), so that `explain` of a result made in this process needs nothing passed again.
        self._inputs = {k: v for k, v in (inputs or {}).items() if v is not None}
        self.paths = summary.paths if summary is not None else _core.RunPaths.from_run_dir(self.run_dir)

    @property
    def run_id(self) -> str:
        return self.meta["run_id"]

    @functools.cached_property
    def meta(self) -> dict[str, Any]:
        return self._json("meta.json")

    @functools.cached_property
    def metrics(self) -> dict[str, Any]:
        """Flat metrics (`metrics.json["metrics"]`); definitions are in :attr:`metric_definitions`."""
        return self._json("metrics.json")["metrics"]

    @functools.cached_property
    def metric_definitions(self) -> dict[str, Any]:
        return self._json("metrics.json")["definitions"]

    @functools.cached_property
    def trades_list(self) -> list[dict[str, Any]]:
        return self._json("trades.json")

    @property
    def trades(self) -> Any:
        """Trades as a pandas DataFrame (one row per trade, `meta` kept as a dict column)."""
        import pandas as pd

        frame = pd.DataFrame(self.trades_list)
        for col in ("entry_time", "exit_time"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col], utc=True)
        return frame

    @property
    def equity(self) -> Any:
        """Equity per bar (or per UTC day with `outputs.equity = "daily"`) as a pandas DataFrame
        indexed by UTC timestamp."""
        import pandas as pd

        path = self.run_dir / "equity.csv"
        if not path.is_file():
            raise ValueError(
                f'run {self.run_id} wrote no equity.csv (outputs.equity = "none"); its metrics come from the '
                'per-bar curve all the same. Set outputs.equity to "bar" or "daily" to keep the curve'
            )
        frame = pd.read_csv(path)
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
        return frame.set_index("timestamp")

    @functools.cached_property
    def profiling(self) -> dict[str, Any] | None:
        """`profiling/profiling.json` when the run was profiled, else None."""
        path = self.run_dir / "profiling" / "profiling.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def logs(self) -> Any:
        """Both log streams (Rust JSON lines and the Python log) merged by timestamp, as a
        DataFrame with UTC timestamps and one row per record."""
        import pandas as pd

        frame = pd.DataFrame(read_timeline(self.paths), columns=TIMELINE_COLUMNS)
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
        for column in ("source", "level", "component"):
            frame[column] = frame[column].astype("category")
        return frame

    def plot(self) -> Any:
        """Equity and drawdown (plus the engine's phase timings when profiled); returns the
        matplotlib figure. Needs the `plot` extra (`pip install "omega-v2[plot]"`)."""
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError('plotting needs matplotlib: pip install "omega-v2[plot]"') from None

        eq = self.equity
        phases = {p: ms for p in PLOT_PHASES if (ms := (self.profiling or {}).get("metrics", {}).get(f"time_{p}_ms"))}
        rows = 3 if phases else 2
        fig, axes = plt.subplots(rows, 1, figsize=(10, 2.6 * rows), constrained_layout=True)
        d, currency = self.meta["dataset"], self.meta["account"]["account_currency"]
        fig.suptitle(f"{self.meta['config']['strategy_name']} on {d['symbol']} {d['timeframe']} ({self.run_id})")
        axes[0].plot(eq.index, eq["equity"], label="equity")
        axes[0].plot(eq.index, eq["balance"], label="balance", alpha=0.7)
        axes[0].set(title="equity", ylabel=currency)
        axes[0].legend()
        # Drawdown as metrics.json reports it: a positive share of the high water.
        axes[1].fill_between(eq.index, eq["drawdown"] * 100, 0, color="tab:red", alpha=0.5)
        axes[1].set(title=f"drawdown (max {self.metrics['max_drawdown']:.2%})", ylabel="% of high water")
        axes[1].invert_yaxis()
        if phases:
            axes[2].barh(list(phases), list(phases.values()))
            axes[2].set(title="engine phases", xlabel="ms")
        return fig

    def explain(self, trade: int, **inputs: Any) -> Any:
        """The story of trade `trade` (0-based, as in :attr:`trades`): signal, gates, fill, stop
        moves, exit check and PnL. A result returned by `omega_v2.run` reuses the run's own
        `data=`, `signals=`, `strategy=`; a result loaded from disk needs them passed again when
        the run had them. Returns an :class:`omega_v2.trade_story.TradeStory` (printable)."""
        from omega_v2.trade_story import explain

        return explain(self.run_dir, trade, **{**self._inputs, **inputs})

    def _json(self, name: str) -> Any:
        return json.loads((self.run_dir / name).read_text(encoding="utf-8"))

    def __repr__(self) -> str:
        headline = ", ".join(f"{k}={self.metrics.get(k)!r}" for k in _core.HEADLINE_METRICS)
        return f"RunResult(run_id={self.run_id!r}, {headline})"

    def _repr_html_(self) -> str:
        import html  # only notebooks render it; a command's run need not import it

        d = self.meta["dataset"]
        rows = "".join(
            f"<tr><td>{k}</td><td>{html.escape(str(self.metrics.get(k)))}</td></tr>" for k in _core.HEADLINE_METRICS
        )
        return (
            f"<div><b>omega-v2 run</b> <code>{html.escape(self.run_id)}</code> "
            f"{html.escape(d['symbol'])} {html.escape(d['timeframe'])} {html.escape(d['start_time'])} → "
            f"{html.escape(d['end_time'])}<table>{rows}</table><small>{html.escape(str(self.run_dir))}</small></div>"
        )


def load_run(run_id_or_dir: str | os.PathLike[str], *, var_dir: str | os.PathLike[str] | None = None) -> RunResult:
    """A completed run by run_id (under the var dir) or by its directory."""
    return RunResult(paths.resolve_run(run_id_or_dir, paths.var_dir(var_dir)))
