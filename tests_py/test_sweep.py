"""Sweeps: grid expansion, any executor, own run per point, ranked summary."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import omega_v2
from omega_v2.sweeps import expand_grid, sweep

GRID = {"strategy_parameters.z_score_long": [-2.0, -2.5], "strategy_parameters.z_score_short": [2.0, 2.5]}


def test_expand_grid_sets_dotted_paths_without_touching_the_base() -> None:
    base = {"strategy_parameters": {"fast": 1}, "symbol": "EURUSD"}
    expanded = expand_grid(base, {"strategy_parameters.fast": [2, 3], "warmup_bars": [0]})
    assert [p for p, _ in expanded] == [
        {"strategy_parameters.fast": 2, "warmup_bars": 0},
        {"strategy_parameters.fast": 3, "warmup_bars": 0},
    ]
    assert [c["strategy_parameters"]["fast"] for _, c in expanded] == [2, 3]
    assert base == {"strategy_parameters": {"fast": 1}, "symbol": "EURUSD"}


@pytest.mark.parametrize("executor", [None, "threads"])
def test_sweep_runs_every_point_and_ranks_them(tmp_path: Path, executor: str | None) -> None:
    pool = ThreadPoolExecutor(2) if executor else None
    result = sweep(None, GRID, executor=pool, var_dir=tmp_path / "var", progress=False)
    if pool:
        pool.shutdown()
    table = result.summary
    assert len(table) == 4 and set(table["status"]) == {"success"}
    assert table["run_id"].is_unique
    profits = list(table["profit_net"])
    assert profits == sorted(profits, reverse=True)
    # each point's run is complete and equals a direct run of the same config
    best = table.iloc[0]
    config = omega_v2.load_config(omega_v2.example_config_path()).normalized
    config["strategy_parameters"]["z_score_long"] = best["strategy_parameters.z_score_long"]
    config["strategy_parameters"]["z_score_short"] = best["strategy_parameters.z_score_short"]
    direct = omega_v2.run(config, data_root=omega_v2.paths.EXAMPLE_DATA_ROOT, var_dir=tmp_path / "direct")
    assert direct.metrics["profit_net"] == best["profit_net"]
    assert (Path(best["run_dir"]) / "trades.json").read_bytes() == (direct.run_dir / "trades.json").read_bytes()
    assert (result.directory / "summary.csv").read_text(encoding="utf-8").count("\n") == 1 + len(table)


def test_a_bad_grid_value_fails_before_any_run(tmp_path: Path) -> None:
    with pytest.raises(omega_v2.ConfigError, match="z_score_long"):
        sweep(None, {"strategy_parameters.z_score_long": [1.0]}, var_dir=tmp_path / "var", progress=False)
    # A grid key naming no config field would make every point the same run.
    with pytest.raises(omega_v2.ConfigError, match=r"unknown config key `outputs\.colour`"):
        sweep(None, {"outputs.colour": ["red"]}, var_dir=tmp_path / "var", progress=False)
    with pytest.raises(omega_v2.ConfigError, match="grid parameter `warmup_bars` has no values"):
        sweep(None, {"warmup_bars": []}, var_dir=tmp_path / "var", progress=False)
    with pytest.raises(omega_v2.ConfigError, match="max_workers must be a whole number"):
        sweep(None, {"warmup_bars": [10]}, var_dir=tmp_path / "var", max_workers=0)
    assert not (tmp_path / "var").exists()


def test_sweeps_import_no_cluster_or_plot_library() -> None:
    code = (
        "import sys, omega_v2; omega_v2.sweep, omega_v2.walk_forward; "
        "print(sorted(m for m in ('dask', 'distributed', 'fsspec', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
