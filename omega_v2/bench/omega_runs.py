"""Measured omega-v2 runs: `python -m omega_v2 run CONFIG ... --quiet --json` in a fresh process,
exactly as a user runs the CLI (load, loop, metrics, every artefact written and fsynced).

Wall time and peak RSS come from the parent, the phases and counters from the run's JSON
summary; "outside the engine" is the rest of the process wall time (interpreter start, imports,
config validation, exit).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from omega_v2.bench.measure import Measured, json_output, measure
from omega_v2.bench.stats import per_second

ARTEFACTS = ("trades.json", "equity.csv", "metrics.json", "meta.json")
PHASES = ("data_load", "strategy_init", "backtest", "metrics", "write")


def command(config: Path, data_root: Path, var_dir: Path, run_id: str, profile: bool) -> list[str]:
    cmd = [sys.executable, "-m", "omega_v2", "run", str(config), "--data-root", str(data_root)]
    cmd += ["--var-dir", str(var_dir), "--run-id", run_id, "--quiet", "--json"]
    return [*cmd, "--profile"] if profile else cmd


def run_once(config: Path, data_root: Path, var_dir: Path, run_id: str, profile: bool) -> dict[str, Any]:
    what = f"run {run_id}"
    measured = measure(command(config, data_root, var_dir, run_id, profile), what=what)
    return record(measured, json_output(measured, what))


def record(measured: Measured, summary: dict[str, Any]) -> dict[str, Any]:
    """The figures of one run: process wall and RSS, phases (ms), loop throughput, artefacts."""
    timings, counters, paths = summary["timings"], summary["counters"], summary["paths"]
    engine_s = timings["total_ns"] / 1e9
    phases_ms = {p: timings[f"{p}_ns"] / 1e6 for p in PHASES}
    phases_ms["engine_total"] = engine_s * 1e3
    phases_ms["outside_engine"] = (measured.wall_s - engine_s) * 1e3
    bars = counters["bars_processed"]
    run_dir = Path(paths["run_dir"])
    return {
        "run_id": summary["run_id"],
        "wall_s": measured.wall_s,
        "peak_rss_mb": measured.peak_rss_mb,
        "bars": bars,
        "trades": counters["trades_emitted"],
        "loop_bars_per_s": per_second(bars, timings["backtest_ns"] / 1e9),
        "phases_ms": phases_ms,
        "run_dir": str(run_dir),
        "artefacts": artefact_sizes(run_dir),
        "logs": {"text": paths["text_log"], "json": paths["json_log"], "python": paths["python_log"]},
        "metrics": summary["metrics"],
    }


def artefact_sizes(run_dir: Path) -> dict[str, int]:
    """Bytes of every file the run wrote into its directory (profiling/ included, by relative path)."""
    return {str(p.relative_to(run_dir)): p.stat().st_size for p in sorted(run_dir.rglob("*")) if p.is_file()}
