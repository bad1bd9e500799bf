"""The summary of a sweep: ranked rows with the grid parameters as columns, CSV and Parquet
files that read back to the same table, a heatmap, lean outputs that change no metric, and
progress that is a bar only on a terminal."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import omega_v2 as om
from omega_v2.sweeps import sweep
from omega_v2.sweeps.summary import metric_names

LONG, SHORT = "strategy_parameters.z_score_long", "strategy_parameters.z_score_short"
GRID = {LONG: [-2.0, -2.5, -3.0], SHORT: [2.0, 3.0]}


@pytest.fixture(scope="module")
def swept(make_config: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    var = tmp_path_factory.mktemp("summary") / "var"
    result = sweep(make_config(), GRID, data_root=om.paths.EXAMPLE_DATA_ROOT, var_dir=var, progress=False)
    return result, var


def test_rows_are_ranked_by_the_runs_own_metrics(swept: tuple[Any, Path]) -> None:
    result, var = swept
    table = result.summary
    assert list(table.columns[:5]) == [LONG, SHORT, "status", "run_id", "error"]
    assert set(metric_names()) <= set(table.columns)
    assert sorted(zip(table[LONG], table[SHORT], strict=True)) == sorted(
        (a, b) for a in GRID[LONG] for b in GRID[SHORT]
    )
    recorded = {
        row["run_id"]: json.loads((var / "results" / "backtests" / row["run_id"] / "metrics.json").read_text())[
            "metrics"
        ]
        for _, row in table.iterrows()
    }
    profits = [recorded[run_id]["profit_net"] for run_id in table["run_id"]]
    assert profits == sorted(profits, reverse=True) and len(set(profits)) > 1
    assert result.best["run_id"] == table["run_id"].iloc[0]
    assert (table["engine_ms"] > 0).all() and (table["task_ms"] >= table["engine_ms"]).all()


def test_lower_is_better_ranking_and_a_bad_metric(make_config: Any, tmp_path: Path) -> None:
    result = sweep(
        make_config(),
        {LONG: GRID[LONG]},
        data_root=om.paths.EXAMPLE_DATA_ROOT,
        var_dir=tmp_path,
        rank_by="-max_drawdown",
    )
    drawdowns = list(result.summary["max_drawdown"])
    assert drawdowns == sorted(drawdowns) and result.rank_by == "-max_drawdown"
    with pytest.raises(om.ConfigError, match="rank_by must name a metric"):
        sweep(make_config(), {LONG: [-2.0]}, var_dir=tmp_path, rank_by="profit")


def test_csv_and_parquet_read_back_to_the_summary(swept: tuple[Any, Path], tmp_path: Path) -> None:
    result, _ = swept
    csv = pd.read_csv(result.to_csv(tmp_path / "summary.csv"))
    parquet = pd.read_parquet(result.to_parquet(tmp_path / "summary.parquet"))
    for table in (csv, parquet):
        assert list(table.columns) == list(result.summary.columns)
        assert list(table["run_id"]) == list(result.summary["run_id"])
        assert list(table["profit_net"]) == list(result.summary["profit_net"])
        assert list(table[LONG]) == list(result.summary[LONG])
    stored = pd.read_csv(result.directory / "summary.csv")
    assert list(stored["run_id"]) == list(result.summary["run_id"])


def test_the_heatmap_shows_each_cell(swept: tuple[Any, Path]) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    result, _ = swept
    fig = result.heatmap(LONG, SHORT, "profit_net")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(v) for v in sorted(GRID[LONG])]
    cells = {t.get_text() for t in ax.texts}
    assert cells == {f"{v:.4g}" for v in result.summary["profit_net"]}
    with pytest.raises(om.ConfigError, match="must be a grid parameter"):
        result.heatmap(LONG, "strategy_parameters.window_length")


def test_lean_outputs_change_no_metric(make_config: Any, tmp_path: Path) -> None:
    summaries, run_dirs = {}, {}
    for equity in ("bar", "daily", "none"):
        result = sweep(
            make_config(), {LONG: [-2.0, -2.5]}, data_root=om.paths.EXAMPLE_DATA_ROOT, var_dir=tmp_path, equity=equity
        )
        summaries[equity] = result.summary.set_index(LONG)[metric_names()]
        run_dirs[equity] = result.summary.set_index(LONG)["run_dir"]
    assert summaries["bar"].equals(summaries["daily"]) and summaries["bar"].equals(summaries["none"])
    for value in (-2.0, -2.5):
        bar, daily, none = (Path(run_dirs[e][value]) for e in ("bar", "daily", "none"))
        for name in ("metrics.json", "trades.json"):
            assert (bar / name).read_bytes() == (daily / name).read_bytes() == (none / name).read_bytes()
        days = pd.read_csv(daily / "equity.csv")
        assert len(days) == summaries["bar"].loc[value, "active_days"] < len(pd.read_csv(bar / "equity.csv"))
        assert not (none / "equity.csv").exists()
        assert json.loads((daily / "config.json").read_text())["outputs"] == {"equity": "daily"}
    with pytest.raises(om.ConfigError, match="equity= must be one of bar, daily, none"):
        sweep(make_config(), {LONG: [-2.0]}, var_dir=tmp_path, equity="hourly")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere(
    make_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    options = {"data_root": om.paths.EXAMPLE_DATA_ROOT, "var_dir": tmp_path}
    sweep(make_config(), {LONG: [-2.0]}, **options)
    assert capsys.readouterr().err.splitlines()[-1] == "sweep: 1/1 points (success 1)"
    sweep(make_config(), {LONG: [-2.0, -2.5]}, **options)
    err = capsys.readouterr().err
    assert "\r" not in err and err.splitlines()[-1] == "sweep: 2/2 points (reused 1, success 1)"

    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    sweep(make_config(), {LONG: [-2.0, -2.5, -3.0]}, **options)
    shown = terminal.getvalue()
    assert "\r" in shown and "3/3" in shown and "reused 2, success 1" in shown and "<" in shown  # tqdm's ETA
    sweep(make_config(), {LONG: [-2.0]}, progress=False, **options)
    assert capsys.readouterr().err == ""


def test_missing_extras_name_what_to_install(swept: tuple[Any, Path], tmp_path: Path, monkeypatch: Any) -> None:
    result, _ = swept
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'^the heatmap needs matplotlib: pip install "omega-v2\[plot\]"$'):
        result.heatmap(LONG, SHORT)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportError, match=r"^writing Parquet needs pyarrow: pip install pyarrow$"):
        result.to_parquet(tmp_path / "x.parquet")
