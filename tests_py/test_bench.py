"""The bench command end to end on a three-day span (one process per measurement, as users run
it), checked against figures derived here, not read back from the bench; and its pure helpers.
Timings are never asserted, only relations that hold for any speed (phases within the engine
total, the engine within the process)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from omega_v2.bench import command, markdown, omega_runs, stats, workload
from omega_v2.bench.context import Bench, Options
from omega_v2.bench.measure import measure
from omega_v2.bench.sections import SECTIONS, peers

QUICK = ["--days", "3", "--repeat", "1", "--only", "e2e,import,loading,write,own_strategy"]
# The last three days: Sunday 2024-12-29, Monday 30 and Tuesday 31.
FIRST, LAST = date(2024, 12, 29), date(2024, 12, 31)
MINUTES_PER_DAY = 1440
# Rounding of the report (6 decimals, of seconds or ms) when comparing sums in milliseconds.
ROUNDING_MS = 2e-3


def weekday_bars(first: date, last: date) -> int:
    days = (first + timedelta(days=i) for i in range((last - first).days + 1))
    return sum(d.weekday() < 5 for d in days) * MINUTES_PER_DAY


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, str]:
    work = tmp_path_factory.mktemp("bench")
    table = work / "table.md"
    cmd = [sys.executable, "-m", "omega_v2", "bench", *QUICK, "--work-dir", str(work / "w"), "--markdown", str(table)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and all(line.startswith("bench: ") for line in proc.stderr.splitlines())
    return json.loads(proc.stdout), work, table.read_text(encoding="utf-8")


def e2e_runs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    runs = doc["sections"]["e2e"]["runs"]
    return [runs[s][f][m] for s in workload.STRATEGIES for f in workload.FORMATS for m in workload.MODES]


def test_report_holds_the_selected_sections_only(quick: tuple[dict[str, Any], Path, str]) -> None:
    doc, _, _ = quick
    assert list(doc["sections"]) == ["e2e", "import", "loading", "write", "own_strategy"]
    env = doc["environment"]
    assert env["cpu_count"] >= 1 and env["omega_v2"] and "ru_maxrss" in env["peak_rss"]
    assert set(doc["data"]) == {"3d-parquet", "3d-csv"}


def test_every_e2e_run_is_a_complete_run(quick: tuple[dict[str, Any], Path, str]) -> None:
    doc, work, _ = quick
    runs = e2e_runs(doc)
    assert len(runs) == len(workload.STRATEGIES) * len(workload.FORMATS) * len(workload.MODES)
    for r in runs:
        name = f"{r['strategy']} {r['format']} {r['mode']}"
        assert r["bars"] == weekday_bars(FIRST, LAST) == 2 * MINUTES_PER_DAY, name
        # sma(20/50) crosses dozens of times a day; MRZ's count is only checked against its file.
        if r["strategy"] == "sma":
            assert r["trades"] > 0, name
        phases = r["phases_ms"]
        inner = sum(phases[p] for p in omega_runs.PHASES)
        assert 0 < inner <= phases["engine_total"] + ROUNDING_MS, name
        assert r["wall_s"] * 1e3 > phases["engine_total"], name
        assert phases["outside_engine"] == pytest.approx(r["wall_s"] * 1e3 - phases["engine_total"], abs=ROUNDING_MS)
        assert r["loop_bars_per_s"] == pytest.approx(r["bars"] / (phases["backtest"] / 1e3), rel=1e-3)
        assert r["peak_rss_mb"] > 0
        run_dir = Path(r["run_dir"])
        assert run_dir.is_relative_to(work)
        assert set(omega_runs.ARTEFACTS) <= set(r["artefacts"]), name
        for artefact, size in r["artefacts"].items():
            assert (run_dir / artefact).stat().st_size == size
        assert len(json.loads((run_dir / "trades.json").read_text(encoding="utf-8"))) == r["trades"]
        equity_rows = (run_dir / "equity.csv").read_text(encoding="utf-8").count("\n") - 1
        assert equity_rows == r["bars"], name
        assert all(Path(p).is_file() for p in r["logs"].values()), name
        assert (run_dir / "profiling" / "profiling.json").is_file() == (r["mode"] == "profiling"), name


def test_trades_do_not_depend_on_format_or_mode(quick: tuple[dict[str, Any], Path, str]) -> None:
    """Both formats hold the same seeded walk; modes change logging only."""
    doc, _, _ = quick
    for strategy in workload.STRATEGIES:
        runs = [r for r in e2e_runs(doc) if r["strategy"] == strategy]
        texts = {(Path(r["run_dir"]) / "trades.json").read_bytes() for r in runs}
        assert len(texts) == 1, f"{strategy}: trades differ between formats or modes"


def test_e2e_ratios_are_of_the_reported_runs(quick: tuple[dict[str, Any], Path, str]) -> None:
    e2e = quick[0]["sections"]["e2e"]
    sma, ratios = e2e["runs"]["sma"], e2e["ratios"]["sma"]
    prod, dev = sma["parquet"]["prod"], sma["parquet"]["dev"]
    assert ratios["parquet"]["wall_prod_vs_dev"] == pytest.approx(prod["wall_s"] / dev["wall_s"], rel=1e-3)
    loop = prod["phases_ms"]["backtest"] / dev["phases_ms"]["backtest"]
    assert ratios["parquet"]["loop_prod_vs_dev"] == pytest.approx(loop, rel=1e-3)
    csv_vs_parquet = sma["csv"]["dev"]["wall_s"] / dev["wall_s"]
    assert ratios["wall_csv_vs_parquet"]["dev"] == pytest.approx(csv_vs_parquet, rel=1e-3)


def test_import_section(quick: tuple[dict[str, Any], Path, str]) -> None:
    section = quick[0]["sections"]["import"]
    timed = section["importtime"]
    slowest = timed["slowest_self_us"]
    assert len(slowest) == 5
    assert [m["self_us"] for m in slowest] == sorted((m["self_us"] for m in slowest), reverse=True)
    assert all(m["self_us"] <= m["cumulative_us"] for m in slowest)
    assert timed["cumulative_us"] > 0
    wall = section["wall"]
    assert wall["import_minus_pass_ms"] == pytest.approx(wall["import_ms"] - wall["pass_ms"], abs=ROUNDING_MS)


def test_loading_reads_the_same_files(quick: tuple[dict[str, Any], Path, str]) -> None:
    doc = quick[0]
    section = doc["sections"]["loading"]
    # One file holds every weekday minute from the warmup weeks to the last day.
    rows_per_file = weekday_bars(FIRST - timedelta(days=workload.WARMUP_DAYS), LAST)
    for fmt in ("csv", "parquet"):
        files = doc["data"][f"3d-{fmt}"]["files"]
        nbytes = sum(Path(p).stat().st_size for p in files.values())
        assert section["engine"][fmt]["bytes"] == nbytes
        assert section["engine"][fmt]["data_load_ms"] > 0
    pyarrow = section["pyarrow"]
    assert pyarrow["csv_one_file_1_thread"]["rows"] == rows_per_file
    for name in ("csv_both_files_1_thread", "csv_both_files_threads", "parquet_both_files"):
        assert pyarrow[name]["rows"] == 2 * rows_per_file, name
        assert pyarrow[name]["time_type"].startswith("timestamp"), name
    assert set(section["ratios"]) == {
        "engine_csv_vs_pyarrow_csv_both_files_1_thread",
        "engine_csv_vs_pyarrow_csv_both_files_threads",
        "engine_parquet_vs_pyarrow_parquet_both_files",
    }


def test_write_floor_writes_the_runs_bytes(quick: tuple[dict[str, Any], Path, str]) -> None:
    doc = quick[0]
    section = doc["sections"]["write"]
    run = doc["sections"]["e2e"]["runs"]["sma"]["parquet"]["dev"]
    run_dir = Path(run["run_dir"])
    on_disk = {p.name: p.stat().st_size for p in run_dir.iterdir() if p.is_file()}
    assert section["run_id"] == run["run_id"] and section["files"] == on_disk
    floor = section["floor"]
    assert floor["bytes"] == sum(on_disk.values()) and floor["files"] == len(on_disk)
    assert section["engine"]["write_ms"] == run["phases_ms"]["write"]
    assert section["ratios"]["write_vs_floor"] == pytest.approx(run["phases_ms"]["write"] / floor["ms"], rel=1e-3)


def test_own_strategies_make_the_builtins_trades(quick: tuple[dict[str, Any], Path, str]) -> None:
    doc, _, _ = quick
    own = doc["sections"]["own_strategy"]
    builtin = doc["sections"]["e2e"]["runs"]["sma"]["parquet"]["dev"]
    assert own["bars"] == builtin["bars"] == weekday_bars(FIRST, LAST)
    for leg in ("signals", "python"):
        assert own[leg]["trades_identical_to_builtin"] is True
        assert own[leg]["trades"] == builtin["trades"] > 0
    assert own["market_rows_per_side"] > own["bars"]  # the files hold the warmup weeks too
    # The report rounds to 6 decimals; three days' loops take well under a millisecond.
    assert own["ratios"]["signals_loop_vs_builtin_loop"] == pytest.approx(
        own["signals"]["loop_s"] / own["builtin"]["loop_s"], rel=0.05
    )


def test_markdown_table_of_the_quick_run(quick: tuple[dict[str, Any], Path, str]) -> None:
    doc, _, table = quick
    assert table == markdown.render(doc)
    lines = table.splitlines()
    assert lines[:2] == markdown.HEADER
    # 2 strategies x 2 formats, import, 2 loading rows, write, 3 own-strategy rows; no peers or
    # scale rows; the caption.
    assert len(lines) == 2 + 4 + 1 + 2 + 1 + 3 + 2
    assert lines[-2:] == ["", markdown.caption(doc)] and "median of 1 fresh process per figure" in lines[-1]
    # backtesting.py appears only in the own-strategy row, and only where it is installed
    assert ("backtesting.py" in table) == peers.installed() and "backtesting.py 0." not in table
    assert "30 days" not in table
    assert "| sma_crossover, 3 days, parquet, dev |" in table
    # Every run row splits its wall time into the engine's phases and the rest of the process.
    run = doc["sections"]["e2e"]["runs"]["sma"]["csv"]["dev"]
    split = ", ".join(f"{name} {markdown.millis(run['phases_ms'][key])}" for key, name in markdown.PHASE_NAMES.items())
    assert f"phases {split}" in next(line for line in lines if line.startswith("| sma_crossover, 3 days, csv, dev |"))


# --- pure helpers -------------------------------------------------------------------------


def test_median_and_median_sample() -> None:
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    samples = [{"wall_s": w, "i": i} for i, w in enumerate([0.5, 0.2, 0.9, 0.3])]
    assert stats.median_sample(samples, key=lambda s: s["wall_s"])["i"] == 3  # 0.3, the lower middle
    assert stats.median_sample(samples[:3], key=lambda s: s["wall_s"])["i"] == 0  # 0.5
    with pytest.raises(ValueError):
        stats.median([])
    with pytest.raises(ValueError):
        stats.median_sample([], key=float)


def test_ratio_per_second_and_rounding() -> None:
    assert stats.ratio(3.0, 2.0) == 1.5
    assert stats.ratio(None, 2.0) is None and stats.ratio(1.0, None) is None and stats.ratio(1.0, 0) is None
    assert stats.per_second(377_280, 0.5) == 754_560
    assert stats.mb(3 * 2**20) == 3.0
    assert stats.rounded({"a": [1.23456789, 2], "b": {"c": 4e-7}}) == {"a": [1.234568, 2], "b": {"c": 0.0}}


def test_parse_importtime() -> None:
    text = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       146 |        146 |     _json",
            "import time:       334 |        480 |   json.scanner",
            "import time:       318 |       1573 | json",
            "something else",
        ]
    )
    assert stats.parse_importtime(text) == [
        stats.ImportRecord("_json", 146, 146, 2),
        stats.ImportRecord("json.scanner", 334, 480, 1),
        stats.ImportRecord("json", 318, 1573, 0),
    ]


def test_markdown_formatting_and_skipped_sections() -> None:
    assert markdown.span_name("1y") == "1 year" and markdown.span_name("10y") == "10 years"
    assert markdown.span_name("3d") == "3 days"
    assert markdown.x(1.234) == "1.23x" and markdown.x(12.6) == "13x" and markdown.x(None) == "n/a"
    assert markdown.seconds(0.35212) == "0.352 s" and markdown.seconds(25.13) == "25.1 s"
    assert markdown.millis(187.4) == "187 ms" and markdown.millis(7.25) == "7.2 ms"
    report = {"sections": {"peers": {"skipped": "backtesting.py is not installed; pip install backtesting"}}}
    assert markdown.render(report).splitlines() == [
        *markdown.HEADER,
        "| peers | skipped | backtesting.py is not installed; pip install backtesting |",
    ]


def test_scale_rows_name_the_span_they_compare_with() -> None:
    run = {
        "strategy": "sma",
        "span": "30d",
        "format": "parquet",
        "mode": "dev",
        "wall_s": 0.17,
        "bars": 31_680,
        "loop_bars_per_s": 41.4e6,
        "peak_rss_mb": 40.0,
        "trades": 746,
        "phases_ms": dict.fromkeys(markdown.PHASE_NAMES, 1.0),
    }
    ratios = {"wall": 0.71, "engine_total": 2.24, "loop": 8.0, "bars": 11.0}
    section = {"compared_with": {"label": "3d"}, "runs": {"sma": run}, "ratios": {"sma": ratios}}
    [row] = markdown.render({"sections": {"scale": section}}).splitlines()[2:]
    assert row.startswith("| sma_crossover, 30 days, parquet, dev | 0.17 s |")
    assert "vs 3 days: wall 0.71x, engine 2.24x, loop 8.00x for 11x bars" in row


def test_spans() -> None:
    quick = workload.spans(3)
    assert (quick["year"].label, quick["year"].first, quick["year"].last) == ("3d", FIRST, LAST)
    assert (quick["decade"].label, quick["decade"].first) == ("30d", date(2024, 12, 2))
    full = workload.spans(None)
    assert (full["year"].first, full["decade"].first) == (date(2024, 1, 1), date(2015, 1, 1))
    assert full["year"].data_first == date(2023, 12, 18)


def test_peers_says_how_to_install_backtesting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(peers.importlib.util, "find_spec", lambda name: None)
    section = peers.section(Bench(Options(days=3, repeat=1, seed=7, work=tmp_path)))
    assert "not installed" in section["skipped"] and "pip install" in section["skipped"]
    assert not any(tmp_path.iterdir())  # nothing generated or run


def test_children_run_without_the_users_log_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUST_LOG", "trace")
    monkeypatch.setenv("OMEGA_PY_LOG", "DEBUG")
    code = "import os; print(os.environ.get('RUST_LOG'), os.environ.get('OMEGA_PY_LOG'))"
    assert measure([sys.executable, "-c", code], what="env").stdout.split() == ["None", "None"]


def test_peak_rss_is_the_measured_process_own() -> None:
    """Linux carries a process's pre-exec peak into its ru_maxrss: a child spawned straight from a
    large parent would report the parent's peak. The launcher keeps the child's own."""
    ballast = bytearray(b"\x01") * (400 * 2**20)  # every page written, so resident
    small = measure([sys.executable, "-c", "pass"], what="pass")
    large = measure([sys.executable, "-c", "b = bytearray(b'1') * (200 * 2**20)"], what="200 MB")
    assert len(ballast) == 400 * 2**20
    assert small.peak_rss_mb < 100
    assert 200 <= large.peak_rss_mb < 400


def test_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert command.main(["--only", "e2e,nope"]) == 2
    assert ",".join(SECTIONS) in capsys.readouterr().err
    assert command.main(["--repeat", "0"]) == 2
    assert "--repeat must be at least 1" in capsys.readouterr().err
