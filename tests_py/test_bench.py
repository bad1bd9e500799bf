"""Smoke test of the bench command (SPEC 9) on a two-day span: the report's shape, positive
figures and the artefacts of every run. Timings are never asserted."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from omega_v2 import bench

MODES = {"dev", "prod", "profiling"}
PHASES = {"data_load", "strategy_init", "backtest", "metrics", "write", "total"}


@pytest.fixture(scope="module")
def binary() -> Path:
    """The release binary of this checkout, (re)built with cargo when available so it is never stale."""
    if shutil.which("cargo") is not None:
        root = bench.DEFAULT_BINARY.parents[2]
        subprocess.run(["cargo", "build", "--release", "--bin", "omega_v2"], cwd=root, check=True, timeout=1800)
    elif not bench.DEFAULT_BINARY.is_file():
        pytest.skip(f"no {bench.DEFAULT_BINARY} and no cargo to build it ({bench.BUILD_HINT})")
    return bench.DEFAULT_BINARY


@pytest.fixture(scope="module")
def report(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    work = tmp_path_factory.mktemp("bench")
    out = work / "bench.json"
    code = bench.main(["--days", "2", "--work-dir", str(work / "w"), "--out", str(out), "--binary", str(binary)])
    assert code == 0
    return json.loads(out.read_text(encoding="utf-8")), work


def test_every_strategy_and_mode_ran_end_to_end(report: tuple[dict, Path]) -> None:
    doc, work = report
    runs = doc["runs"]
    assert {(r["strategy"], r["mode"]) for r in runs} == {(s, m) for s in ("mrz", "sma") for m in MODES}
    for r in runs:
        assert r["span"] == "2d"
        assert r["bars"] == 2 * 1440  # 2024-12-30 and 2024-12-31 are weekdays
        for key in ("wall_s", "peak_rss_mb", "loop_bars_per_s", "loop_ns_per_bar"):
            assert r[key] > 0, key
        assert set(r["phases_ms"]) == PHASES
        assert all(v >= 0 for v in r["phases_ms"].values())
        assert r["phases_ms"]["total"] > 0
        run_dir = Path(r["run_dir"])
        assert run_dir.is_relative_to(work)
        assert r["artefacts"] == sorted(bench.ARTEFACTS)
        assert all((run_dir / name).is_file() for name in bench.ARTEFACTS)
        trades = json.loads((run_dir / "trades.json").read_text(encoding="utf-8"))
        assert len(trades) == r["trades"]


def test_results_do_not_depend_on_the_mode(report: tuple[dict, Path]) -> None:
    doc, _ = report
    for strategy in ("mrz", "sma"):
        runs = [r for r in doc["runs"] if r["strategy"] == strategy]
        texts = {(Path(r["run_dir"]) / "trades.json").read_bytes() for r in runs}
        assert len(texts) == 1, f"{strategy}: trades differ between dev, prod and profiling"


def test_overheads_api_and_metadata(report: tuple[dict, Path]) -> None:
    doc, _ = report
    assert doc["schema"] == "omega_v2.bench/1"
    for strategy in ("mrz", "sma"):
        ratios = doc["overhead"][strategy]["2d"]
        assert set(ratios) == {"loop_prod_vs_dev", "wall_prod_vs_dev", "loop_profiling_vs_dev", "wall_profiling_vs_dev"}
        assert all(v > 0 for v in ratios.values())
    assert doc["scaling"] == {}  # one span only
    api = doc["api"]
    assert "skipped" not in api, api
    assert api["wall_s"] > 0 and api["peak_rss_mb"] > 0 and api["bars"] == 2 * 1440
    assert api["artefacts"] == sorted(bench.ARTEFACTS)
    assert doc["data"]["2d"]["file_mb"] > 0
    assert doc["environment"]["binary"].endswith("omega_v2")


def test_spans_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = bench.argparse.ArgumentParser()
    bench.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "--years", "10,1"])
    assert [label for label, _, _ in bench._spans(args)] == ["1y", "10y"]
    assert args.handler is bench.run
    missing = tmp_path / "no-binary"
    assert bench.main(["--days", "1", "--binary", str(missing), "--no-api"]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and bench.BUILD_HINT in err
