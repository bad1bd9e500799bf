"""The `bench` command: options, the sections to run, the report on stdout."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from omega_v2.bench.context import Bench, Options
from omega_v2.bench.environment import environment, load_average
from omega_v2.bench.markdown import render
from omega_v2.bench.measure import BenchError, progress
from omega_v2.bench.sections import SECTIONS
from omega_v2.bench.stats import rounded

SCHEMA = "omega_v2.bench/2"
DESCRIPTION = (
    "End-to-end performance of the installed package, as its users run it: each figure comes from a "
    "fresh `python -m omega_v2 run ... --json` process (or a peer library's) on seeded synthetic "
    "EURUSD M1 bid/ask data. Prints one JSON report; timings are reports, never pass/fail."
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Registers the `bench` command on the CLI's subparsers."""
    parser = subparsers.add_parser(
        "bench", help="end-to-end performance report (JSON; --markdown for a table)", description=DESCRIPTION
    )
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated sections (default: all: {','.join(SECTIONS)})"
    )
    parser.add_argument("--days", type=int, help="N days (and 10 x N for `scale`) instead of 1 and 10 years")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per measurement; the median is kept")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic data")
    parser.add_argument("--work-dir", help="keep data, configs and runs here (default: a temporary directory)")
    parser.add_argument("--out", help="also write the JSON report to this file")
    parser.add_argument(
        "--markdown",
        nargs="?",
        const="-",
        metavar="PATH",
        help="also render the headline figures as a markdown table, to PATH or after the JSON on stdout",
    )
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Runs the selected sections; 0 on success, 2 on bad options or a failed measurement."""
    try:
        selected = _sections(args.only)
        for flag in ("days", "repeat"):
            if getattr(args, flag) is not None and getattr(args, flag) < 1:
                raise BenchError(f"--{flag} must be at least 1")
        report = _report(args, selected)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    if args.markdown == "-":
        print()
        print(render(report), end="")
    elif args.markdown:
        Path(args.markdown).write_text(render(report), encoding="utf-8")
    return 0


def _sections(only: str) -> list[str]:
    chosen = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown or not chosen:
        raise BenchError(f"--only takes a comma-separated subset of {','.join(SECTIONS)}")
    return chosen


def _report(args: argparse.Namespace, selected: list[str]) -> dict[str, Any]:
    keep = args.work_dir is not None
    work = Path(args.work_dir) if keep else Path(tempfile.mkdtemp(prefix="omega_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(Options(days=args.days, repeat=args.repeat, seed=args.seed, work=work.resolve()))
    started, load_before = time.perf_counter(), load_average()
    try:
        sections = {}
        for name in selected:
            progress(f"section {name}")
            sections[name] = SECTIONS[name](bench)
        return rounded(
            {
                "schema": SCHEMA,
                "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "options": {"only": selected, "days": args.days, "repeat": args.repeat, "seed": args.seed},
                "environment": environment(bench.var_dir, load_before),
                "work_dir": str(work) if keep else None,
                "data": bench.datasets(),
                "sections": sections,
                "elapsed_s": time.perf_counter() - started,
            }
        )
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m omega_v2.bench [options]`, the same as `python -m omega_v2 bench [options]`."""
    parser = argparse.ArgumentParser(prog="python -m omega_v2")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)]))
