"""Walk-forward analysis: per window, the best grid point on the train span runs on the test span
that follows it; the test runs' equity curves, chained, are the out-of-sample result.

Windows (whole UTC days, inclusive, inside the config's start_date..end_date = S..E): window k
tests `S + train + k*step` for `test` days and trains on the `train` days before that
(`anchored=True`: on every day from S). Only windows whose test span ends by E are kept. Every
run is an ordinary run with its own run_id and artefacts; warmup bars come from the data before
each span, as for any run. See `docs/sweeps.md` for the chaining of the curves.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from omega_v2.config import load_config
from omega_v2.errors import Code, ConfigError
from omega_v2.runner import config_or_example
from omega_v2.sweeps import grid as grids
from omega_v2.sweeps import summary
from omega_v2.sweeps.orchestrate import Settings, run_points
from omega_v2.sweeps.store import read_run_file
from omega_v2.sweeps.summary import SweepResult

DATES = ("start_date", "end_date")
_DURATION = re.compile(r"\s*(\d+)\s*([DW])\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Window:
    index: int
    train_start: date
    train_end: date
    test_start: date
    test_end: date

    def span(self, which: str) -> dict[str, str]:
        first, last = (self.train_start, self.train_end) if which == "train" else (self.test_start, self.test_end)
        return {"start_date": first.isoformat(), "end_date": last.isoformat()}


def windows(start: date, end: date, *, train: Any, test: Any, step: Any, anchored: bool) -> list[Window]:
    """The windows of `start..end` (inclusive days); see the module doc."""
    train_days, test_days, step_days = (days(v, n) for v, n in ((train, "train"), (test, "test"), (step, "step")))
    if step_days < test_days:
        raise ConfigError(
            "walk_forward: step must be at least test, or test spans would overlap and the out-of-sample curve "
            "would count days twice",
            code=Code.CONFIG_INVALID,
            context={"field": "step"},
        )
    found = []
    while True:
        k = len(found)
        test_start = start + timedelta(days=train_days + k * step_days)
        test_end = test_start + timedelta(days=test_days - 1)
        if test_end > end:
            break
        train_start = start if anchored else test_start - timedelta(days=train_days)
        found.append(Window(k, train_start, test_start - timedelta(days=1), test_start, test_end))
    if not found:
        raise ConfigError(
            f"walk_forward: start_date..end_date holds {(end - start).days + 1} days, fewer than train + test "
            f"({train_days + test_days}); extend the span or shorten the windows",
            code=Code.CONFIG_INVALID,
            context={"field": "end_date"},
        )
    return found


def days(value: Any, name: str) -> int:
    """A duration in whole days: an int, `"90D"`, `"4W"` or a `datetime.timedelta`."""
    if isinstance(value, timedelta) and value.total_seconds() % 86400 == 0:
        count = value.days
    elif isinstance(value, int) and not isinstance(value, bool):
        count = value
    elif isinstance(value, str) and (m := _DURATION.fullmatch(value)):
        count = int(m.group(1)) * (7 if m.group(2).upper() == "W" else 1)
    else:
        count = 0
    if count < 1:
        raise ConfigError(
            f"walk_forward: {name} must be a whole number of days >= 1: an int, a text such as '30D' or '4W', or a "
            "timedelta of whole days",
            code=Code.CONFIG_INVALID,
            context={"field": name},
        )
    return count


@dataclass(frozen=True, eq=False)
class WalkForwardResult:
    """What :func:`omega_v2.walk_forward` returns.

    * `windows`: one row per window: its train and test spans, the winning parameters, the
      winner's train score (`train_<metric>`), both run_ids, the test run's status and metrics.
    * `equity`: the stitched out-of-sample curve (UTC-indexed `equity`, `balance`, `drawdown`,
      `window`), or None when a test run kept no equity.csv (`outputs.equity = "none"`).
    * `metrics`: of the whole out-of-sample period (see `docs/sweeps.md`).
    * `train`, `test`: the two underlying sweeps.
    """

    windows: Any
    equity: Any
    metrics: dict[str, Any]
    train: SweepResult
    test: SweepResult


def walk_forward(
    config: Any,
    grid: Mapping[str, Iterable[Any]],
    *,
    train: Any = "90D",
    test: Any = "30D",
    step: Any = "30D",
    anchored: bool = False,
    rank_by: str = "profit_net",
    data: Any = None,
    executor: Any = None,
    max_workers: int | None = None,
    signals: Any = None,
    strategy: Any = None,
    data_root: str | os.PathLike[str] | None = None,
    var_dir: str | os.PathLike[str] | None = None,
    sweep_id: str | None = None,
    resume: bool = True,
    retry_failed: bool = False,
    equity: str | None = None,
    store: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> WalkForwardResult:
    """Walk-forward analysis of `grid` over `config`'s start_date..end_date: per window, the
    grid point with the best `rank_by` on the train span is run on the test span. Options as for
    :func:`omega_v2.sweep`; its two sweeps are stored as `<sweep_id>-train` and `<sweep_id>-test`
    and resume like any sweep."""
    loaded = load_config(config_or_example(config))
    base = grids.sweep_base(loaded, equity)
    values = grids.grid_values(grid)
    if clash := [k for k in values if k in DATES]:
        raise ConfigError(
            f"walk_forward sets {' and '.join(clash)} per window; remove it from the grid",
            code=Code.CONFIG_INVALID,
            context={"field": clash[0]},
        )
    plan = windows(
        date.fromisoformat(base["start_date"]),
        date.fromisoformat(base["end_date"]),
        train=train,
        test=test,
        step=step,
        anchored=anchored,
    )
    settings = Settings.make(
        loaded,
        executor=executor,
        max_workers=max_workers,
        data=data,
        signals=signals,
        strategy=strategy,
        data_root=data_root,
        var_dir=var_dir,
        resume=resume,
        retry_failed=retry_failed,
        store=store,
        progress=progress,
        rank_by=rank_by,
    )
    params = ["window", *values]
    # The span is left out of the id: extending it adds windows and keeps the finished ones.
    shape = {name: days(value, name) for name, value in (("train", train), ("test", test), ("step", step))}
    shape["anchored"] = anchored
    wf_id = settings.sweep_id(
        sweep_id, {k: v for k, v in base.items() if k not in DATES}, list(values), kind="wf", extra=shape
    )
    grid_points = grids.expand_grid(base, values)
    train_points = [
        grids.checked({"window": w.index, **p}, grids.with_values(cfg, w.span("train")))
        for w in plan
        for p, cfg in grid_points
    ]
    trained = run_points(train_points, params, settings, f"{wf_id}-train", called_as=("walk_forward", wf_id))
    winners = _winners(trained, plan)
    test_points = []
    for index, winner in winners.items():
        chosen = _params(winner, list(values))
        span = plan[index].span("test")
        test_points.append(grids.checked({"window": index, **chosen}, grids.with_values(base, {**chosen, **span})))
    tested = run_points(test_points, params, settings, f"{wf_id}-test", called_as=("walk_forward", wf_id))
    table = _windows_frame(plan, list(values), winners, tested, settings.ranking.metric)
    initial = float(base["account"]["initial_balance"])
    curve = _stitched(table, initial)
    return WalkForwardResult(table, curve, _metrics(table, curve, initial), trained, tested)


def _winners(trained: SweepResult, plan: list[Window]) -> dict[int, Any]:
    """Per window, the row of its best train point: the first of the ranked summary (ties keep
    grid order) among the points with a score."""
    metric = trained.rank_by.lstrip("-")
    ok = trained.summary[(trained.summary["status"] != "failed") & trained.summary[metric].notna()]
    winners = {}
    for w in plan:
        rows = ok[ok["window"] == w.index]
        if not rows.empty:
            winners[w.index] = rows.iloc[0]
    return winners


def _params(row: Any, grid_params: list[str]) -> dict[str, Any]:
    """The grid values of a summary row as plain Python values (numpy scalars to int/float)."""
    return {p: (v.item() if callable(getattr(v, "item", None)) else v) for p, v in ((p, row[p]) for p in grid_params)}


def _windows_frame(
    plan: list[Window], grid_params: list[str], winners: dict[int, Any], tested: SweepResult, metric: str
) -> Any:
    import pandas as pd

    test_rows = {int(r["window"]): r for _, r in tested.summary.iterrows()}
    rows = []
    for w in plan:
        row: dict[str, Any] = {"window": w.index}
        row.update({f"train_{k}": v for k, v in w.span("train").items()})
        row.update({f"test_{k}": v for k, v in w.span("test").items()})
        winner, test_row = winners.get(w.index), test_rows.get(w.index)
        if winner is None or test_row is None:
            rows.append({**row, "status": "failed", "error": "no train point of this window succeeded"})
            continue
        row.update(_params(winner, grid_params))
        row.update(
            {
                f"train_{metric}": winner[metric],
                "train_run_id": winner["run_id"],
                "test_run_id": test_row["run_id"],
                "status": test_row["status"],
                "error": test_row["error"],
                **{m: test_row[m] for m in summary.metric_names()},
                "test_run_dir": test_row["run_dir"],
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _tested(table: Any) -> Any:
    return table[table["status"] != "failed"]


def _stitched(table: Any, initial: float) -> Any:
    """Each test run's curve scaled by the product of the earlier test runs' balance ratios
    (final balance / initial balance), so each window starts where the one before it ended;
    None when a test run kept no equity.csv."""
    import pandas as pd

    parts, factor = [], 1.0
    for _, row in _tested(table).iterrows():
        raw = read_run_file(row["test_run_dir"], "equity.csv")
        if raw is None:
            return None
        curve = pd.read_csv(io.BytesIO(raw), usecols=["timestamp", "equity", "balance"])
        curve["timestamp"] = pd.to_datetime(curve["timestamp"], utc=True)
        curve[["equity", "balance"]] *= factor
        curve["window"] = int(row["window"])
        parts.append(curve)
        factor *= (initial + row["profit_net"]) / initial
    if not parts:
        return None
    stitched = pd.concat(parts, ignore_index=True).set_index("timestamp")
    high_water = stitched["equity"].cummax().clip(lower=initial)
    stitched["drawdown"] = (high_water - stitched["equity"]) / high_water
    return stitched[["equity", "balance", "drawdown", "window"]]


def _metrics(table: Any, curve: Any, initial: float) -> dict[str, Any]:
    """The out-of-sample period as one account that compounds each window's return."""
    tested = _tested(table)
    factor = 1.0
    for profit in tested["profit_net"] if len(tested) else []:
        factor *= (initial + profit) / initial
    return {
        "windows": len(table),
        "windows_tested": len(tested),
        "windows_profitable": int((tested["profit_net"] > 0).sum()) if len(tested) else 0,
        "initial_balance": initial,
        "final_balance": initial * factor,
        "profit_net": initial * (factor - 1.0),
        "return": factor - 1.0,
        "total_trades": int(tested["total_trades"].sum()) if len(tested) else 0,
        "max_drawdown": None if curve is None else float(curve["drawdown"].max()),
    }
