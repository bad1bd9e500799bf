"""Walk-forward on the bundled data: window spans computed by hand, each window's winner found
again from the train runs' own files (config.json and metrics.json), its test run on the test
span, and the stitched out-of-sample curve chained by hand from the test runs' equity.csv."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import omega_v2 as om
from omega_v2.sweeps.walkforward import windows

GRID = {"strategy_parameters.z_score_long": [-2.0, -2.5], "strategy_parameters.z_score_short": [2.0, 2.5]}
# 2025-01-06 (a Monday) .. 2025-01-31: train 7 days, test the 5 weekdays after, step a week.
SPANS = [
    (("2025-01-06", "2025-01-12"), ("2025-01-13", "2025-01-17")),
    (("2025-01-13", "2025-01-19"), ("2025-01-20", "2025-01-24")),
    (("2025-01-20", "2025-01-26"), ("2025-01-27", "2025-01-31")),
]
INITIAL = 10_000.0


@pytest.fixture(scope="module")
def walked(make_config: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    var = tmp_path_factory.mktemp("wf") / "var"
    config = make_config(start_date="2025-01-06", end_date="2025-01-31")
    assert config["account"]["initial_balance"] == INITIAL
    result = om.walk_forward(
        config,
        GRID,
        train="7D",
        test="5D",
        step="1W",
        data_root=om.paths.EXAMPLE_DATA_ROOT,
        var_dir=var,
        progress=False,
    )
    return result, var


def _runs(var: Path) -> list[dict[str, Any]]:
    """Every run under `var`, read from its own files."""
    found = []
    for run_dir in sorted((var / "results" / "backtests").iterdir()):
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))["metrics"]
        found.append({"dir": run_dir, "config": config, "metrics": metrics})
    return found


def _params(config: dict[str, Any]) -> tuple[float, float]:
    p = config["strategy_parameters"]
    return (p["z_score_long"], p["z_score_short"])


def test_window_spans_are_the_hand_computed_ones(walked: tuple[Any, Path]) -> None:
    table = walked[0].windows
    spans = [((r.train_start_date, r.train_end_date), (r.test_start_date, r.test_end_date)) for r in table.itertuples()]
    assert spans == SPANS
    assert list(table["window"]) == [0, 1, 2] and set(table["status"]) == {"success"}


def test_each_winner_is_the_best_train_run_and_is_tested_on_the_next_span(walked: tuple[Any, Path]) -> None:
    result, var = walked
    runs = _runs(var)
    assert len(runs) == 3 * 4 + 3 and len({r["dir"].name for r in runs}) == 15
    grid_order = [
        (lo, sh) for lo in GRID["strategy_parameters.z_score_long"] for sh in GRID["strategy_parameters.z_score_short"]
    ]
    for (train, test), row in zip(SPANS, result.windows.to_dict("records"), strict=True):
        trains = [r for r in runs if (r["config"]["start_date"], r["config"]["end_date"]) == train]
        assert sorted(_params(r["config"]) for r in trains) == sorted(grid_order)
        best = max(r["metrics"]["profit_net"] for r in trains)
        # Ties go to the first point in grid order.
        tied = [r for r in trains if r["metrics"]["profit_net"] == best]
        winner = min(tied, key=lambda r: grid_order.index(_params(r["config"])))
        chosen = tuple(row[name] for name in GRID)
        assert chosen == _params(winner["config"])
        assert row["train_profit_net"] == best and row["train_run_id"] == winner["dir"].name
        (tested,) = [r for r in runs if (r["config"]["start_date"], r["config"]["end_date"]) == test]
        assert _params(tested["config"]) == chosen and row["test_run_id"] == tested["dir"].name
        assert row["profit_net"] == tested["metrics"]["profit_net"] > -INITIAL
        assert row["total_trades"] == tested["metrics"]["total_trades"] > 0


def test_the_out_of_sample_curve_chains_each_window_from_the_last_ones_end(walked: tuple[Any, Path]) -> None:
    result, var = walked
    factor, expected = 1.0, []
    for test_run_id in result.windows["test_run_id"]:
        run_dir = var / "results" / "backtests" / test_run_id
        curve = pd.read_csv(run_dir / "equity.csv")
        profit = json.loads((run_dir / "metrics.json").read_text())["metrics"]["profit_net"]
        # The engine closes everything at the last bar: the final balance is the initial one plus
        # profit_net (which metrics.json rounds to the cent).
        assert curve["balance"].iloc[-1] == pytest.approx(INITIAL + profit, abs=0.005)
        expected.append(
            (
                curve["timestamp"].iloc[0],
                curve["equity"].iloc[0] * factor,
                curve["timestamp"].iloc[-1],
                curve["equity"].iloc[-1] * factor,
                len(curve),
            )
        )
        factor *= (INITIAL + profit) / INITIAL
    stitched = result.equity
    assert list(stitched.columns) == ["equity", "balance", "drawdown", "window"]
    for window, (first_ts, first, last_ts, last, rows) in enumerate(expected):
        part = stitched[stitched["window"] == window]
        assert len(part) == rows
        assert part.index[0] == pd.Timestamp(first_ts) and part["equity"].iloc[0] == pytest.approx(first)
        assert part.index[-1] == pd.Timestamp(last_ts) and part["equity"].iloc[-1] == pytest.approx(last)
    assert stitched["equity"].iloc[-1] == pytest.approx(INITIAL * factor)
    high_water = stitched["equity"].cummax().clip(lower=INITIAL)
    assert result.metrics["max_drawdown"] == pytest.approx(((high_water - stitched["equity"]) / high_water).max())
    assert result.metrics["profit_net"] == pytest.approx(INITIAL * (factor - 1))
    assert result.metrics["return"] == pytest.approx(factor - 1)
    assert result.metrics["windows"] == result.metrics["windows_tested"] == 3
    assert result.metrics["total_trades"] == result.windows["total_trades"].sum()


def test_a_second_call_reuses_every_run(walked: tuple[Any, Path], make_config: Any) -> None:
    first, var = walked
    again = om.walk_forward(
        make_config(start_date="2025-01-06", end_date="2025-01-31"),
        GRID,
        train="7D",
        test="5D",
        step="7D",
        data_root=om.paths.EXAMPLE_DATA_ROOT,
        var_dir=var,
        progress=False,
    )
    assert set(again.train.summary["status"]) == set(again.test.summary["status"]) == {"reused"}
    assert list(again.windows["test_run_id"]) == list(first.windows["test_run_id"])


def test_anchored_windows_train_from_the_start() -> None:
    plan = windows(date(2025, 1, 6), date(2025, 1, 31), train=7, test="5d", step="7D", anchored=True)
    assert [(w.train_start.isoformat(), w.train_end.isoformat()) for w in plan] == [
        ("2025-01-06", "2025-01-12"),
        ("2025-01-06", "2025-01-19"),
        ("2025-01-06", "2025-01-26"),
    ]
    assert [w.test_start.isoformat() for w in plan] == [t[0] for _, t in SPANS]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"train": "30D"}, "holds 26 days, fewer than train \\+ test \\(35\\)"),
        ({"step": "3D"}, "step must be at least test"),
        ({"test": "5 days"}, "test must be a whole number of days"),
        ({"train": 0}, "train must be a whole number of days"),
    ],
)
def test_bad_windows_fail_before_any_run(
    make_config: Any, tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    settings = {"train": "7D", "test": "5D", "step": "7D", **options}
    config = make_config(start_date="2025-01-06", end_date="2025-01-31")
    with pytest.raises(om.ConfigError, match=message):
        om.walk_forward(config, GRID, var_dir=tmp_path / "var", **settings)
    with pytest.raises(om.ConfigError, match="walk_forward sets start_date per window"):
        om.walk_forward(config, {"start_date": ["2025-01-06"]}, var_dir=tmp_path / "var")
    assert not (tmp_path / "var").exists()
