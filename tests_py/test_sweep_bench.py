"""`bench --only sweeps` end to end on two days of M1: every figure is consistent with the others
(rates from point counts and walls, overhead from walls and engine times, memory per worker for
every run), and the sweep's runs are the loop's runs. Timings are never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")

from omega_v2.bench import sweep_runs

WORKERS = 2


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    work = tmp_path_factory.mktemp("bench") / "w"
    cmd = [sys.executable, "-m", "omega_v2", "bench", "--only", "sweeps", "--days", "2", "--repeat", "1"]
    proc = subprocess.run([*cmd, "--work-dir", str(work)], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and all(line.startswith("bench: ") for line in proc.stderr.splitlines())
    return json.loads(proc.stdout)["sections"]["sweeps"], work


def _check_figures(figures: dict[str, Any], points: int, workers: int) -> None:
    assert figures["points"] == points
    assert figures["runs_per_s"] == pytest.approx(points / figures["wall_s"], rel=1e-4)
    assert 0 < figures["engine_ms_mean"] <= figures["task_ms_mean"]
    assert sum(figures["phases_ms_mean"].values()) <= figures["engine_ms_mean"] + 1e-3
    expected_overhead = (figures["wall_s"] * 1e3 * workers - figures["engine_ms_mean"] * points) / points
    assert figures["overhead_per_run_ms"] == pytest.approx(expected_overhead, rel=1e-3, abs=1e-3)
    assert 0 <= figures["machine_idle_share"] <= 1


def test_the_machines_own_ceiling(report: tuple[dict[str, Any], Path]) -> None:
    ceiling = report[0]["machine_scaling"]
    assert ceiling["processes"] == WORKERS
    assert ceiling["scaling"] == pytest.approx(WORKERS * ceiling["one_s"] / ceiling["together_s"], rel=1e-4)


@pytest.mark.parametrize("mode", ["pool", "cluster"])
def test_the_64_point_sweeps(report: tuple[dict[str, Any], Path], mode: str) -> None:
    section = report[0]["grid_64"]
    figures = section[mode]
    _check_figures(figures, 64, WORKERS)
    _check_figures(section["sequential"], 64, 1)
    speedup = section[f"{mode}_vs_sequential"]
    assert speedup == pytest.approx(figures["runs_per_s"] / section["sequential"]["runs_per_s"], rel=1e-4)
    assert figures["statuses"] == {"success": 64, "reused": 0, "failed": 0}
    memory = figures["workers_rss_mb"]
    assert len(memory) == WORKERS and sum(w["runs"] for w in memory.values()) == 64
    for w in memory.values():
        assert 0 < w["start"] <= w["max"] and w["end"] <= w["max"] and w["middle"] <= w["max"]
    if mode == "cluster":
        assert figures["cluster_start_s"] > 0


def test_memory_growth_is_a_trend_that_one_high_reading_does_not_make() -> None:
    spike = sweep_runs._rss_figures([100.0, *[101.0] * 8, 106.5])  # the last reading caught freed memory
    assert spike == {"runs": 10, "start": 100.0, "middle": 101.0, "end": 106.5, "max": 106.5, "growth": 0.0}
    flat = sweep_runs._rss_figures([100.0, 101.0, 101.0, 101.0, 106.0, 101.0, 101.0, 101.0])
    assert flat["growth"] == 0.0 and flat["max"] == 106.0
    leak = sweep_runs._rss_figures([100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0])  # 1 MB a run
    assert leak["growth"] == 4.0  # medians 105.5 (last two) - 101.5 (first two after the first run)


def test_eight_points_against_a_loop_of_the_same_runs(report: tuple[dict[str, Any], Path]) -> None:
    section, work = report
    for label in ("config_outputs", "equity_none"):
        part = section["eight_points"][label]
        _check_figures(part["sequential"], 8, 1)
        _check_figures(part["pool"], 8, WORKERS)
        assert part["speedup"] == pytest.approx(part["pool"]["runs_per_s"] / part["sequential"]["runs_per_s"], rel=1e-4)
        for phase, slowdown in part["phase_slowdown"].items():
            seq, pool = part["sequential"]["phases_ms_mean"][phase], part["pool"]["phases_ms_mean"][phase]
            assert slowdown == pytest.approx(pool / seq, rel=1e-3)

    # The sweep ran exactly what the loop ran: the same metrics for each point.
    def metrics_by_point(var: Path) -> dict[float, bytes]:
        found = {}
        for run_dir in (var / "results" / "backtests").iterdir():
            point = json.loads((run_dir / "config.json").read_text())["strategy_parameters"]["z_score_long"]
            found[point] = (run_dir / "metrics.json").read_bytes()
        return found

    runs = work / "var" / "sweeps"
    loop = metrics_by_point(runs / "eight-sequential-config_outputs-0")
    swept = metrics_by_point(runs / "eight-pool-config_outputs-0")
    assert len(loop) == 8 and loop == swept
