"""Profiling mode: `profile diff` on hand-made profiling.json files, and one
real profiled run end to end (artefacts present, results identical to an unprofiled run)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from omega_v2 import profile_diff
from omega_v2.pytest_plugin import same_artefacts

PHASE_NS = {
    "wall_time_total": 400_000_000,
    "time_data_load": 50_000_000,
    "time_strategy_init": 20_000,
    "time_backtest": 300_000_000,
    "time_metrics": 10_000_000,
    "time_write": 40_000_000,
}


def metrics(scale: dict[str, float] | None = None, **extra: Any) -> dict[str, Any]:
    """A profiling.json `metrics` block; `scale` multiplies phase times by stem."""
    out: dict[str, Any] = {}
    for stem, ns in PHASE_NS.items():
        ns = round(ns * (scale or {}).get(stem, 1.0))
        out[f"{stem}_ms"], out[f"{stem}_ns"] = round(ns / 1e6, 3), ns
    out.update(
        peak_rss_mb=250.5,
        bars_processed=377_000,
        events_processed=900,
        trades_emitted=42,
        orders_filled=84,
        rss_start_mb=100.0,
        rss_end_mb=120.0,
        peak_rss_delta_mb=150.5,
        rss_profiler_overhead_mb=110.0,
        peak_rss_method="vmhwm_clear_refs",
        concurrent_runs=1,
        cpu_profile="collected",
        cpu_profile_reason=None,
        cpu_profile_samples=80,
        cpu_profile_frequency_hz=199,
        time_profiler_start_ms=210.5,
        time_profiler_start_ns=210_500_000,
    )
    out.update(extra)
    return out


def make_run(var: Path, run_id: str, block: dict[str, Any] | None) -> Path:
    """A completed run directory; `block=None` leaves out profiling.json (an unprofiled run)."""
    run_dir = var / "results" / "backtests" / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "meta.json").write_text("{}\n", encoding="utf-8")
    if block is not None:
        definitions = {k: {"unit": "x", "description": k} for k in block}
        (run_dir / "profiling").mkdir()
        (run_dir / "profiling" / "profiling.json").write_text(
            json.dumps({"metrics": block, "definitions": definitions}), encoding="utf-8"
        )
    return run_dir


def diff(var: Path, *args: str) -> int:
    return profile_diff.main([*args, "--var-dir", str(var)])


def table_row(out: str, label: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.split()[:1] == [label])


def test_table_shows_phases_counters_and_memory_with_ratios(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_run(tmp_path, "a", metrics())
    make_run(tmp_path, "b", metrics({"time_backtest": 1.05}, peak_rss_mb=501.0))
    assert diff(tmp_path, "a", "b") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == ["A: a", "B: b"]
    for section in ("phase times (ms)", "counters", "memory (MB)", "profiler"):
        assert section in out
    assert table_row(out, "backtest") == ["backtest", "300.000", "315.000", "1.050"]
    assert table_row(out, "strategy_init") == ["strategy_init", "0.020", "0.020", "1.000"]
    assert table_row(out, "bars_processed") == ["bars_processed", "377,000", "377,000", "1.000"]
    assert table_row(out, "peak_rss_mb") == ["peak_rss_mb", "250.500", "501.000", "2.000"]
    assert table_row(out, "cpu_profile_samples") == ["cpu_profile_samples", "80", "80", "1.000"]
    assert "ok: no phase above 1.1x" in out


def test_a_phase_above_the_threshold_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_run(tmp_path, "a", metrics())
    make_run(tmp_path, "b", metrics({"time_backtest": 1.25, "time_write": 1.5}))
    assert diff(tmp_path, "a", "b") == 1
    out = capsys.readouterr().out
    assert table_row(out, "backtest")[-2:] == ["<-", "regression"]
    assert "regression: B/A above 1.1 in backtest (1.250x), write (1.500x)" in out
    assert diff(tmp_path, "a", "b", "--threshold", "1.6") == 0
    assert diff(tmp_path, "b", "a") == 0, "faster is never a regression"


def test_memory_and_counters_never_fail_the_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_run(tmp_path, "a", metrics())
    make_run(
        tmp_path, "b", metrics(peak_rss_mb=900.0, trades_emitted=50, concurrent_runs=2, time_profiler_start_ms=900.0)
    )
    assert diff(tmp_path, "a", "b") == 0
    out = capsys.readouterr().out
    assert "note: the runs did different work (trades_emitted differ)" in out
    assert "note: a run shared its process with other runs" in out


def test_phases_below_min_ms_are_noise(tmp_path: Path) -> None:
    make_run(tmp_path, "a", metrics())
    make_run(tmp_path, "b", metrics({"time_strategy_init": 3.0}))
    assert diff(tmp_path, "a", "b") == 0, "0.02 ms -> 0.06 ms is timer noise"
    assert diff(tmp_path, "a", "b", "--min-ms", "0.01") == 1


def test_run_directories_work_as_well_as_run_ids(tmp_path: Path) -> None:
    a = make_run(tmp_path, "a", metrics())
    b = make_run(tmp_path, "b", metrics({"time_data_load": 2.0}))
    assert profile_diff.main([str(a), str(b)]) == 1


def test_missing_run_or_profiling_json_exits_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_run(tmp_path, "a", metrics())
    make_run(tmp_path, "plain", None)
    assert diff(tmp_path, "a", "nope") == 2
    assert "no such run `nope`" in capsys.readouterr().err
    assert diff(tmp_path, "a", "plain") == 2
    err = capsys.readouterr().err
    assert "run `plain` has no profiling data" in err and "--profile" in err
    (tmp_path / "results" / "backtests" / "a" / "profiling" / "profiling.json").write_text("{", encoding="utf-8")
    assert diff(tmp_path, "a", "a") == 2
    assert "cannot read" in capsys.readouterr().err


def test_threshold_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        diff(tmp_path, "a", "b", "--threshold", "0")
    assert exc.value.code == 2


def test_add_parser_wires_profile_diff_into_a_cli(tmp_path: Path) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    profile_diff.add_parser(parser.add_subparsers(dest="command", required=True))
    make_run(tmp_path, "a", metrics())
    args = parser.parse_args(["profile", "diff", "a", "a", "--var-dir", str(tmp_path), "--threshold", "1.2"])
    assert (args.threshold, args.min_ms) == (1.2, 1.0)
    assert args.handler(args) == 0


PROFILING_FILES = ("profiling.json", "flamegraph.svg", "profile.pb.gz", "python_profile.pstats", "python_profile.txt")


def test_profiled_run_writes_every_artefact_and_changes_no_result(tmp_path: Path) -> None:
    import omega_v2

    profiled = omega_v2.run(None, var_dir=tmp_path, profile=True)
    plain = omega_v2.run(None, var_dir=tmp_path, profile=False)

    assert same_artefacts(profiled, plain) == [], "profiling changed trades, equity or metrics"
    folder = profiled.run_dir / "profiling"
    assert sorted(p.name for p in folder.iterdir()) == sorted(PROFILING_FILES)
    assert not (plain.run_dir / "profiling").exists()

    doc = profiled.profiling
    m, d = doc["metrics"], doc["definitions"]
    assert set(m) == set(d) and all(set(v) == {"unit", "description"} for v in d.values())
    assert m["bars_processed"] == profiled.meta["dataset"]["bars"]
    assert m["trades_emitted"] == profiled.metrics["total_trades"]
    assert m["wall_time_total_ns"] >= m["time_backtest_ns"] > 0
    assert m["peak_rss_mb"] > 0 and m["peak_rss_method"] in ("vmhwm_clear_refs", "ru_maxrss_process")
    assert m["concurrent_runs"] >= 1
    assert m["cpu_profile"] == "collected", m["cpu_profile_reason"]
    # The first traded bar and every 16th after it are timed; the percentiles are of those.
    assert m["bar_time_sample_every"] == 16
    assert m["bar_time_samples"] == -(-m["bars_processed"] // 16)
    times = [m[f"bar_time_{p}_ns"] for p in ("p50", "p90", "p99", "p999", "max")]
    assert 0 < times[0] and times == sorted(times), times
    assert 0 < m["bar_time_mean_ns"] <= times[-1]
    assert 0 <= m["bar_time_clock_floor_ns"] < 10_000
    # The loop's own time covers at least the timed bars.
    assert m["time_backtest_ns"] >= m["bar_time_samples"] * m["bar_time_mean_ns"]
    assert (folder / "flamegraph.svg").read_text(encoding="utf-8").lstrip().startswith("<")
    assert gzip.decompress((folder / "profile.pb.gz").read_bytes())
    assert profile_diff.main([str(plain.run_dir), str(profiled.run_dir)]) == 2, "the plain run has no profile"
    assert profile_diff.main([str(profiled.run_dir), str(profiled.run_dir)]) == 0


@pytest.mark.parametrize("how", ["argument", "config"])
def test_the_python_profile_covers_config_loading(tmp_path: Path, how: str, make_config: Any) -> None:
    """Whether profiling is asked for by `profile=True` or by the config file's
    `observability.profiling_mode`, cProfile starts before the config is loaded."""
    import pstats

    import omega_v2

    config = make_config({"observability": {"profiling_mode": how == "config"}})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    result = omega_v2.run(
        path, data_root=omega_v2.paths.EXAMPLE_DATA_ROOT, var_dir=tmp_path, profile=True if how == "argument" else None
    )
    stats = pstats.Stats(str(result.run_dir / "profiling" / "python_profile.pstats"))
    functions = {(Path(file).name, name) for file, _, name in stats.stats}  # type: ignore[attr-defined]
    assert {("loader.py", "load_config"), ("inputs.py", "engine_inputs")} <= functions
