"""The `diff` command: `python -m omega_v2 diff RUN_A RUN_B [--show-values] [--json]`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from omega_v2.run_diff.artefacts import UnreadableRunError
from omega_v2.run_diff.report import diff_runs

EXIT_IDENTICAL, EXIT_DIFFERENT, EXIT_UNREADABLE = 0, 1, 2
DESCRIPTION = "why two runs differ: config, data, engine, counters, metrics, first divergent trade, equity"
EPILOG = (
    "exit status: 0 results identical (trades.json, equity.csv and metrics.json byte-identical), "
    "1 results differ, 2 a run is missing or unreadable"
)


def run(args: argparse.Namespace) -> int:
    """Handler of `diff`: prints the comparison and returns the exit status."""
    try:
        diff = diff_runs(args.run_a, args.run_b, var_dir=args.var_dir, show_values=args.show_values)
    except UnreadableRunError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(json.dumps(diff.to_dict(), indent=2) if args.json else diff.render())
    return EXIT_IDENTICAL if diff.identical else EXIT_DIFFERENT


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_a", help="baseline run: run_id under the var dir, or a run directory")
    parser.add_argument("run_b", help="run compared against the baseline")
    parser.add_argument(
        "--show-values",
        action="store_true",
        help="show the values of changed config fields beyond the allowlisted ones (needs config.json in both "
        "runs; the seed is never shown)",
    )
    parser.add_argument("--json", action="store_true", help="print the full comparison (every metric) as JSON")
    parser.add_argument("--var-dir", help="base directory of results/ (default: $OMEGA_VAR_DIR or ./var)")
    parser.set_defaults(handler=run)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Adds `diff` to the CLI's subparsers; the handler is stored as `handler`."""
    parser = subparsers.add_parser("diff", help=DESCRIPTION, description=DESCRIPTION, epilog=EPILOG)
    _add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m omega_v2.run_diff RUN_A RUN_B [...]`."""
    parser = argparse.ArgumentParser(prog="python -m omega_v2 diff", description=DESCRIPTION, epilog=EPILOG)
    _add_arguments(parser)
    args = parser.parse_args(argv)
    return args.handler(args)
