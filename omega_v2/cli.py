"""`python -m omega_v2`: run, validate, logs (and the profiling and bench commands).

Exit codes: 0 success, 2 config error, 3 data error, 4 output error, 1 any other engine error,
130 cancelled. A failure prints one paragraph to stderr; details are in the run's log files.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from omega_v2 import errors

EXIT_CODES = {
    errors.ConfigError: 2,
    errors.DataError: 3,
    errors.OutputError: 4,
    errors.RunCancelled: 130,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _show_config_warnings()
    try:
        return args.handler(args)
    except errors.OmegaError as e:
        code = next((c for cls, c in EXIT_CODES.items() if isinstance(e, cls)), 1)
        print(f"error: {e}", file=sys.stderr)
        return code
    except BrokenPipeError:
        # `... | head` closed stdout: stop quietly, as command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _show_config_warnings() -> None:
    """Unknown-key warnings (logged by omega_v2.config) go to stderr once, as `warning: ...`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    handler.setLevel(logging.WARNING)
    logging.getLogger("omega_v2.config").addHandler(handler)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m omega_v2", description="omega-v2 backtesting engine")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a backtest (the bundled example when CONFIG is omitted)")
    run.add_argument("config", nargs="?", help="config JSON file (default: the bundled example)")
    run.add_argument("--data-root", help="data directory ({ROOT}/{SYMBOL}/{SYMBOL}_{TF}_{BID|ASK}.parquet|csv)")
    run.add_argument("--run-id", help="explicit run id (default: generated)")
    run.add_argument("--var-dir", help="base directory of logs/ and results/ (default: ./var)")
    run.add_argument("--profile", action="store_true", default=None, help="profiling mode")
    run.add_argument("--strict", action="store_true", help="unknown config keys are errors")
    run.add_argument("--quiet", action="store_true", help="do not mirror the engine log to stdout")
    run.add_argument("--json", action="store_true", help="print the run summary as one JSON object (implies --quiet)")
    run.set_defaults(handler=_run)

    validate = sub.add_parser("validate", help="validate a config and print its normalised form and hash")
    validate.add_argument("config")
    validate.add_argument("--strict", action="store_true")
    validate.add_argument("--write-normalized", metavar="PATH", help="write the canonical config (for the Rust binary)")
    validate.set_defaults(handler=_validate)

    logs = sub.add_parser("logs", help="one timeline of a run: Rust and Python records merged by time")
    logs.add_argument("run_id")
    logs.add_argument("--var-dir")
    logs.add_argument("--level", help="minimum level (TRACE, DEBUG, INFO, WARN, ERROR)")
    logs.add_argument("--phase", help="only records of this span/phase (e.g. data_load, backtest_loop, init)")
    logs.add_argument("--json", action="store_true", help="JSON lines instead of text")
    logs.set_defaults(handler=_logs)

    synth = sub.add_parser("synth", help="write seeded synthetic bid/ask data in the engine's layout")
    synth.add_argument("--root", required=True, help="data root to write into")
    synth.add_argument("--start", required=True, help="first date, YYYY-MM-DD")
    synth.add_argument("--end", required=True, help="last date (inclusive), YYYY-MM-DD")
    synth.add_argument("--symbol", default="EURUSD")
    synth.add_argument("--seed", type=int, default=7)
    synth.add_argument("--timeframes", default="M1", help="comma-separated, e.g. M1,M5")
    synth.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    synth.set_defaults(handler=_synth)

    from omega_v2 import bench, profile_diff

    bench.add_parser(sub)
    profile_diff.add_parser(sub)
    return parser


def _run(args: argparse.Namespace) -> int:
    from omega_v2.runner import run

    result = run(
        args.config,
        data_root=args.data_root,
        run_id=args.run_id,
        profile=args.profile,
        var_dir=args.var_dir,
        strict=args.strict,
        log_to_stdout=not (args.quiet or args.json),
    )
    if args.json:
        _print_json(result)
    else:
        _print_summary(result)
    return 0


def _print_json(result) -> None:
    """The engine's run summary (phase timings, counters, headline metrics) for scripts."""
    s = result.summary
    doc = {
        "run_id": s["run_id"],
        "run_dir": str(result.run_dir),
        "logs": {name: str(path) for name, path in result.log_files.items()},
        "bars": s["bars"],
        "counters": s["counters"],
        "timings_ns": s["timings"],
        "metrics": s["metrics"],
    }
    print(json.dumps(doc))


def _print_summary(result) -> None:
    m, s = result.metrics, result.summary or {}
    d = result.meta["dataset"]
    files = result.log_files
    print()
    print(
        f"run {result.run_id}: {d['symbol']} {d['timeframe']} {d['start_time']} -> {d['end_time']} ({d['bars']} bars)"
    )
    print(
        f"  trades {m['total_trades']}  win_rate {m['win_rate']}  profit_net {m['profit_net']}"
        f"  max_drawdown {m['max_drawdown']}  profit_factor {m['profit_factor']}"
    )
    if s:
        print(f"  wall time {s['timings']['total_ns'] / 1e6:.1f} ms")
    print(f"  artefacts: {result.run_dir}")
    print(f"  logs:      {files['rust_text']}  {files['rust_json']}  {files['python']}")
    if result.profiling:
        print(f"  profiling: {result.run_dir / 'profiling'}")


def _validate(args: argparse.Namespace) -> int:
    from omega_v2.config import load_config

    loaded = load_config(args.config, strict=args.strict)
    if args.write_normalized:
        Path(args.write_normalized).write_text(loaded.canonical_json + "\n", encoding="utf-8")
    print(f"config ok: config_hash={loaded.config_hash}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from omega_v2.synth import generate

    written = generate(
        args.root,
        args.start,
        args.end,
        symbol=args.symbol,
        seed=args.seed,
        timeframes=args.timeframes.split(","),
        format=args.format,
    )
    for path in written:
        print(path)
    return 0


_LEVELS = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "WARNING": 3, "ERROR": 4}


def _logs(args: argparse.Namespace) -> int:
    from omega_v2 import paths
    from omega_v2.logs import read_timeline

    var = paths.var_dir(args.var_dir)
    files = paths.log_files(var, args.run_id)
    if not any(f.is_file() for f in files.values()):
        raise errors.ConfigError(
            f"no log files for run `{args.run_id}` under {var / 'logs'}", code="config.unknown_run"
        )
    minimum = _LEVELS.get((args.level or "TRACE").upper())
    if minimum is None:
        raise errors.ConfigError("--level must be one of TRACE, DEBUG, INFO, WARN, ERROR", code="config.invalid")
    for rec in read_timeline(files):
        if _LEVELS.get(rec["level"] or "INFO", 2) < minimum:
            continue
        if args.phase and args.phase not in (rec["span"], rec["phase"], rec["component"]):
            continue
        if args.json:
            print(json.dumps(rec, sort_keys=True))
        else:
            fields = " ".join(f"{k}={v}" for k, v in (rec["fields"] or {}).items())
            span = f" {rec['span']}" if rec["span"] else ""
            head = f"{rec['timestamp']} {rec['level']:<5} {rec['source']:<6}{span} {rec['target']}"
            print(f"{head}: {rec['message']} {fields}".rstrip())
    return 0
