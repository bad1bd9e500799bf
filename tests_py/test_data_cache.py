"""`DataCache`: runs that read the same data files for the same span load them once, and trade
exactly what a run that read them itself trades; a sweep's points share one per worker."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import omega_v2
from omega_v2.paths import EXAMPLE_DATA_ROOT
from omega_v2.pytest_plugin import same_artefacts
from omega_v2.sweeps import sweep, tasks

REUSED = "data reused"


def example() -> dict[str, Any]:
    return omega_v2.load_config(omega_v2.example_config_path()).normalized


def reused(result: omega_v2.RunResult) -> bool:
    return REUSED in Path(result.paths.text_log).read_text(encoding="utf-8")


def test_a_second_run_reuses_the_data_and_trades_the_same(tmp_path: Path) -> None:
    cache = omega_v2.DataCache()
    config = example()

    def run(config: dict[str, Any], cache: omega_v2.DataCache | None) -> omega_v2.RunResult:
        return omega_v2.run(config, data_root=EXAMPLE_DATA_ROOT, var_dir=tmp_path, data_cache=cache)

    first, second, plain = run(config, cache), run(config, cache), run(config, None)
    assert (reused(first), reused(second), reused(plain)) == (False, True, False)
    assert cache.loads == 1 and first.metrics["total_trades"] > 0
    assert repr(cache) == "DataCache(loads=1, capacity=4)"
    assert same_artefacts(second, plain) == [] and same_artefacts(first, plain) == []
    assert second.meta["dataset"] == plain.meta["dataset"]  # the same files and digests recorded
    # A run that widens its spreads does it on its own copy: the next run sees the files' bars.
    wide = copy.deepcopy(config)
    wide["costs"]["spread_multiplier"] = 3.0
    wide_cached, wide_plain, after = run(wide, cache), run(wide, None), run(config, cache)
    assert reused(wide_cached) and same_artefacts(wide_cached, wide_plain) == []
    assert wide_cached.metrics != plain.metrics
    assert same_artefacts(after, plain) == []


def test_another_span_is_loaded_anew(tmp_path: Path) -> None:
    cache = omega_v2.DataCache()
    config = example()
    omega_v2.run(config, data_root=EXAMPLE_DATA_ROOT, var_dir=tmp_path, data_cache=cache)
    later = {**config, "start_date": "2025-01-13"}
    result = omega_v2.run(later, data_root=EXAMPLE_DATA_ROOT, var_dir=tmp_path, data_cache=cache)
    assert not reused(result) and cache.loads == 2


@pytest.mark.parametrize("workers", [1, 2])
def test_a_sweeps_points_load_once_per_worker(tmp_path: Path, workers: int) -> None:
    grid = {"strategy_parameters.z_score_long": [-1.5, -2.0, -2.5, -3.0]}
    result = sweep(None, grid, var_dir=tmp_path / "var", max_workers=workers, progress=False)
    table = result.summary
    assert set(table["status"]) == {"success"}
    runs = [omega_v2.load_run(run_id, var_dir=tmp_path / "var") for run_id in table["run_id"]]
    # Each worker reads the files for its first point only (a worker may happen to get them all).
    assert len(runs) - workers <= sum(map(reused, runs)) <= len(runs) - 1
    assert tasks._data_cache is None, "the sweep's process let go of its cache"
    for z, run in zip(table["strategy_parameters.z_score_long"], runs, strict=True):
        config = example()
        config["strategy_parameters"]["z_score_long"] = z
        direct = omega_v2.run(config, data_root=EXAMPLE_DATA_ROOT, var_dir=tmp_path / "direct")
        assert same_artefacts(run, direct) == []


def test_anything_else_as_data_cache_is_refused_before_the_run(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"data_cache must be an omega_v2\.DataCache, not dict"):
        omega_v2.run(None, var_dir=tmp_path, data_cache={})
    assert not tmp_path.joinpath("logs").exists() and not tmp_path.joinpath("results").exists()
