"""`RunResult`: a finished run's artefacts, read lazily from its directory.

pandas and matplotlib are imported only when a DataFrame or a plot is asked for, so scripts
that only need metrics stay light.
"""

from __future__ import annotations

import functools
import html
import json
import os
from pathlib import Path
from typing import Any

from omega_v2 import paths
from omega_v2.logs import read_timeline


class RunResult:
    """Artefacts of one completed run (`var/results/backtests/<run_id>/`)."""

    def __init__(self, run_dir: Path, *, summary: dict[str, Any] | None = None, var_dir: Path | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.summary = summary
        # run_dir = <var>/results/backtests/<run_id>
        self.var_dir = var_dir if var_dir is not None else self.run_dir.parent.parent.parent

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
        """Equity per bar as a pandas DataFrame indexed by UTC timestamp."""
        import pandas as pd

        frame = pd.read_csv(self.run_dir / "equity.csv")
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
        return frame.set_index("timestamp")

    @functools.cached_property
    def profiling(self) -> dict[str, Any] | None:
        """`profiling/profiling.json` when the run was profiled, else None."""
        path = self.run_dir / "profiling" / "profiling.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    @property
    def log_files(self) -> dict[str, Path]:
        return paths.log_files(self.var_dir, self.run_dir.name)

    def logs(self) -> Any:
        """Both log streams (Rust JSON lines and the Python log) merged by timestamp, as a DataFrame."""
        import pandas as pd

        return pd.DataFrame(read_timeline(self.log_files))

    def plot(self, ax: Any = None) -> Any:
        """Equity and drawdown (and phase timings when profiled); returns the matplotlib figure."""
        import matplotlib.pyplot as plt

        eq = self.equity
        timings = (self.profiling or {}).get("metrics", {})
        phases = {k[5:-3]: v for k, v in timings.items() if k.startswith("time_") and k.endswith("_ms")}
        rows = 3 if phases else 2
        fig, axes = plt.subplots(rows, 1, figsize=(10, 2.6 * rows), constrained_layout=True)
        axes[0].plot(eq.index, eq["equity"], label="equity")
        axes[0].plot(eq.index, eq["balance"], label="balance", alpha=0.7)
        axes[0].set_title(f"{self.run_id}: equity")
        axes[0].legend()
        axes[1].fill_between(eq.index, -eq["drawdown"], 0, color="tab:red", alpha=0.5)
        axes[1].set_title("drawdown (ratio to high water)")
        if phases:
            axes[2].barh(list(phases), list(phases.values()))
            axes[2].set_title("phase timings (ms)")
        return fig

    def _json(self, name: str) -> Any:
        return json.loads((self.run_dir / name).read_text(encoding="utf-8"))

    def __repr__(self) -> str:
        m = self.metrics
        return (
            f"RunResult(run_id={self.run_id!r}, trades={m['total_trades']}, "
            f"profit_net={m['profit_net']}, max_drawdown={m['max_drawdown']})"
        )

    def _repr_html_(self) -> str:
        keys = ("total_trades", "win_rate", "profit_net", "max_drawdown", "profit_factor", "sharpe_equity_daily")
        d = self.meta["dataset"]
        rows = "".join(f"<tr><td>{k}</td><td>{html.escape(str(self.metrics.get(k)))}</td></tr>" for k in keys)
        return (
            f"<div><b>omega-v2 run</b> <code>{html.escape(self.run_id)}</code> "
            f"{html.escape(d['symbol'])} {html.escape(d['timeframe'])} {html.escape(d['start_time'])} → "
            f"{html.escape(d['end_time'])}<table>{rows}</table><small>{html.escape(str(self.run_dir))}</small></div>"
        )


def load_run(run_id_or_dir: str | os.PathLike[str], *, var_dir: str | os.PathLike[str] | None = None) -> RunResult:
    """A completed run by run_id (under the var dir) or by its directory."""
    return RunResult(paths.resolve_run(run_id_or_dir, paths.var_dir(var_dir)))
