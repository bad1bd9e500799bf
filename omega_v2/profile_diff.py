"""`python -m omega_v2 profile diff RUN_A RUN_B`: two profiled runs side by side.

Reads both runs' `profiling/profiling.json` and prints phase times, engine counters and memory
with the ratio B/A. Exit codes: 0 no phase above the threshold, 1 a phase regressed (B/A above
`--threshold`), 2 a run or its profiling.json is missing or unreadable. Phases shorter than
`--min-ms` in both runs are shown but never flagged: at that scale the ratio is timer noise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_v2 import paths
from omega_v2.errors import OmegaError

EXIT_OK, EXIT_REGRESSION, EXIT_MISSING = 0, 1, 2

# (metric stem, label); ratios use the `_ns` values, the table shows `_ms`.
PHASES = (
    ("wall_time_total", "total"),
    ("time_data_load", "data_load"),
    ("time_strategy_init", "strategy_init"),
    ("time_backtest", "backtest"),
    ("time_metrics", "metrics"),
    ("time_write", "write"),
)
COUNTERS = ("bars_processed", "events_processed", "trades_emitted", "orders_filled")
MEMORY = ("peak_rss_mb", "peak_rss_delta_mb", "rss_start_mb", "rss_end_mb", "rss_profiler_overhead_mb")
# The profiler's own cost: shown, never flagged.
PROFILER = ("time_profiler_start_ms", "cpu_profile_samples")


class MissingProfileError(Exception):
    """A run or its profiling.json cannot be read; the message says which and why."""


@dataclass(frozen=True)
class Row:
    section: str
    label: str
    a: float | None
    b: float | None
    ratio: float | None
    regressed: bool = False


def load_profiling(run: str, var: Path) -> tuple[str, dict[str, Any]]:
    """The run's name and the `metrics` of its profiling.json (run_id under `var` or a run dir)."""
    try:
        run_dir = paths.resolve_run(run, var)
    except OmegaError as e:
        raise MissingProfileError(str(e)) from e
    path = run_dir / "profiling" / "profiling.json"
    if not path.is_file():
        raise MissingProfileError(
            f"run `{run}` has no profiling data: {path} is missing; "
            "profile runs with `python -m omega_v2 run --profile` (or profile=True)"
        )
    try:
        return run_dir.name, json.loads(path.read_text(encoding="utf-8"))["metrics"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise MissingProfileError(f"cannot read {path}: {e}") from e


def ratio(a: float | None, b: float | None) -> float | None:
    return b / a if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > 0 else None


def compare(a: dict[str, Any], b: dict[str, Any], threshold: float, min_ms: float) -> list[Row]:
    rows = []
    for stem, label in PHASES:
        a_ms, b_ms = a.get(f"{stem}_ms"), b.get(f"{stem}_ms")
        r = ratio(a.get(f"{stem}_ns", a_ms), b.get(f"{stem}_ns", b_ms))
        long_enough = max(a_ms or 0, b_ms or 0) >= min_ms
        rows.append(Row("phase times (ms)", label, a_ms, b_ms, r, r is not None and r > threshold and long_enough))
    for section, keys in (("counters", COUNTERS), ("memory (MB)", MEMORY), ("profiler", PROFILER)):
        rows += [Row(section, k, a.get(k), b.get(k), ratio(a.get(k), b.get(k))) for k in keys]
    return rows


def _number(value: Any) -> str:
    """Counts as integers, times and sizes with 3 decimals, anything missing as `-`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.3f}"


def render(rows: list[Row], name_a: str, name_b: str) -> str:
    lines = [f"A: {name_a}", f"B: {name_b}", "", f"{'':<28}{'A':>16}{'B':>16}{'B/A':>10}"]
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            lines.append(section)
        r = "n/a" if row.ratio is None else f"{row.ratio:.3f}"
        flag = "  <- regression" if row.regressed else ""
        a, b = _number(row.a), _number(row.b)
        lines.append(f"  {row.label:<26}{a:>16}{b:>16}{r:>10}{flag}")
    return "\n".join(lines)


def notes(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Why the ratios may not compare like with like."""
    out = []
    differing = [k for k in ("bars_processed", "trades_emitted") if a.get(k) != b.get(k)]
    if differing:
        out.append(f"the runs did different work ({', '.join(differing)} differ): ratios compare different workloads")
    if max(a.get("concurrent_runs") or 0, b.get("concurrent_runs") or 0) > 1:
        out.append("a run shared its process with other runs: its timings and RSS include their work")
    if a.get("peak_rss_method") != b.get("peak_rss_method"):
        out.append(f"peak RSS measured differently: {a.get('peak_rss_method')} vs {b.get('peak_rss_method')}")
    return out


def run(args: argparse.Namespace) -> int:
    """Handler of `profile diff`; prints the table and returns the exit code."""
    var = paths.var_dir(args.var_dir)
    try:
        name_a, a = load_profiling(args.run_a, var)
        name_b, b = load_profiling(args.run_b, var)
    except MissingProfileError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_MISSING
    rows = compare(a, b, args.threshold, args.min_ms)
    print(render(rows, name_a, name_b))
    for note in notes(a, b):
        print(f"note: {note}")
    regressed = [f"{r.label} ({r.ratio:.3f}x)" for r in rows if r.regressed]
    if regressed:
        print(f"regression: B/A above {args.threshold:g} in {', '.join(regressed)}")
        return EXIT_REGRESSION
    print(f"ok: no phase above {args.threshold:g}x")
    return EXIT_OK


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _add_diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_a", help="baseline run: run_id under the var dir, or a run directory")
    parser.add_argument("run_b", help="run compared against the baseline")
    parser.add_argument(
        "--threshold", type=_positive, default=1.10, help="exit 1 when a phase's B/A exceeds this (default 1.10)"
    )
    parser.add_argument(
        "--min-ms", type=float, default=1.0, help="never flag phases shorter than this in both runs (default 1.0)"
    )
    parser.add_argument("--var-dir", help="base directory of results/ (default: ./var)")
    parser.set_defaults(handler=run)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Adds `profile diff` to the CLI's subparsers; the handler is stored as `handler`."""
    profile = subparsers.add_parser("profile", help="profiled runs: compare phase timings, counters and RSS")
    actions = profile.add_subparsers(dest="profile_command", required=True)
    diff = actions.add_parser("diff", help="two profiled runs side by side with ratios B/A")
    _add_diff_arguments(diff)
    return profile


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m omega_v2.profile_diff RUN_A RUN_B [...]`."""
    parser = argparse.ArgumentParser(prog="python -m omega_v2 profile diff", description=__doc__.splitlines()[0])
    _add_diff_arguments(parser)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
