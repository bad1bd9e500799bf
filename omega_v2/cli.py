"""`python -m omega_v2`: run, validate, logs (and the profiling and bench commands).

Exit codes: 0 success, else the exit code of the error's class (see `docs/errors.md`); a run
cancelled by a signal exits 128 + its number (130 Ctrl-C, 143 SIGTERM, `docs/crash-safety.md`). A
failure prints one paragraph to stderr; details are in the run's log files.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from omega_v2 import errors, interrupts


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser(all_commands=not argv or argv[0] not in _OWN_COMMANDS)
    args = parser.parse_args(argv)
    _show_config_warnings()
    signals = interrupts.command()
    try:
        signals.work()
        code = args.handler(args)
    except (errors.OmegaError, KeyboardInterrupt) as e:
        # The process ends with this report: another Ctrl-C or SIGTERM must not cut it short.
        interrupts.ignore_further()
        reported = signals.cancelled(e) if isinstance(e, KeyboardInterrupt) else e
        print(f"error: {reported}" if isinstance(reported, errors.OmegaError) else "error: cancelled (Ctrl-C)",
              file=sys.stderr)  # fmt: skip
        return interrupts.exit_code(reported)
    except BrokenPipeError:
        # `... | head` closed stdout: stop quietly, as command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if signals.state == signals.SETTLED and signals.received is not None:
        print(f"note: {signals.received.name} came too late to cancel the run; its result stands", file=sys.stderr)
    return code


def console() -> NoReturn:
    """The process entry point (`python -m omega_v2`, the `omega-v2` script): `main`, then the
    exit handlers and flushed standard streams, then the exit, without the interpreter's
    teardown of every module and object: a command has nothing left to do by then (a run's
    artefacts and logs are committed, synced and closed before `main` returns), and freeing
    pydantic's validators and the engine's module one by one costs a fresh process ~25 ms."""
    interrupts.for_command()
    code = main()
    atexit._run_exitfuncs()  # what the interpreter would run first (logging.shutdown among them)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or gone (a closed pipe): as the interpreter does
            code = code or 120
    os._exit(code)


def _show_config_warnings() -> None:
    """Unknown-key warnings (logged by omega_v2.config) go to stderr once, as `warning: ...`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    handler.setLevel(logging.WARNING)
    logging.getLogger("omega_v2.config").addHandler(handler)


#: The commands defined in this module; the others come from their own modules.
_OWN_COMMANDS = ("run", "validate", "logs", "synth")


def _parser(*, all_commands: bool = True) -> argparse.ArgumentParser:
    """Every command's parser; with `all_commands=False` only this module's (the command line
    names one of them), so that a run's process never imports the bench, diff, replay and
    clean modules (tens of milliseconds of a fresh process's start)."""
    parser = argparse.ArgumentParser(
        prog="python -m omega_v2",
        description="omega-v2: deterministic bid/ask backtests with a Rust engine (docs/cli.md)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a backtest (the bundled example when CONFIG is omitted)")
    run.add_argument("config", nargs="?", help="config JSON file (default: the bundled example on its bundled data)")
    run.add_argument("--data-root", help="data directory holding {SYMBOL}/{SYMBOL}_{TF}_{BID|ASK}.parquet|csv")
    run.add_argument("--run-id", help="explicit run id (default: generated, sortable by start time)")
    _var_dir_option(run)
    run.add_argument(
        "--profile", action="store_true", default=None, help="profiling mode: CPU profile, per-phase counters"
    )
    run.add_argument("--strict", action="store_true", help="unknown config keys are errors instead of warnings")
    run.add_argument("--quiet", action="store_true", help="no engine log on stdout and no progress bar")
    run.add_argument("--json", action="store_true", help="print the run summary as one JSON object (implies --quiet)")
    run.set_defaults(handler=_run)

    validate = sub.add_parser("validate", help="check a config as a run would, before reading data; print its hash")
    validate.add_argument("config", help="config JSON file")
    validate.add_argument("--strict", action="store_true", help="unknown config keys are errors instead of warnings")
    validate.add_argument("--write-normalized", metavar="PATH", help="write the canonical config the Rust binary runs")
    validate.set_defaults(handler=_validate)

    logs = sub.add_parser("logs", help="one timeline of a run: Rust and Python records merged by time")
    logs.add_argument("run_id", help="the run's id")
    _var_dir_option(logs)
    logs.add_argument("--level", help="minimum level: TRACE, DEBUG, INFO, WARN or ERROR")
    logs.add_argument("--phase", help="only records of this span, phase or component (e.g. data_load, loop, execution)")
    logs.add_argument("--json", action="store_true", help="JSON lines (with run_id and context keys) instead of text")
    logs.set_defaults(handler=_logs)

    synth = sub.add_parser("synth", help="write seeded synthetic bid/ask data in the engine's layout")
    synth.add_argument("--root", required=True, help="data root to write into")
    synth.add_argument("--start", required=True, help="first date, YYYY-MM-DD")
    synth.add_argument("--end", required=True, help="last date (inclusive), YYYY-MM-DD")
    synth.add_argument(
        "--symbol", default="EURUSD", help="a symbol with specs; prices follow its scale (default EURUSD)"
    )
    synth.add_argument("--seed", type=int, default=7, help="random seed; the same arguments give the same files")
    synth.add_argument("--timeframes", default="M1", help="comma-separated, e.g. M1,M5 (default M1)")
    synth.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="file format (default parquet)")
    synth.set_defaults(handler=_synth)
    if not all_commands:
        return parser

    from omega_v2 import bench, clean, profile_diff, replays, run_diff, trade_story

    bench.add_parser(sub)
    clean.add_parser(sub)
    profile_diff.add_parser(sub)
    run_diff.add_parser(sub)
    trade_story.add_parser(sub)
    replays.add_parser(sub)
    return parser


def _var_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--var-dir", help="base directory of logs/ and results/ (default: $OMEGA_VAR_DIR, else ./var)")


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
        progress=False if (args.quiet or args.json) else None,
    )
    if args.json:
        _print_json(result)
    else:
        _print_summary(result)
    return 0


def _print_json(result) -> None:
    """The engine's run summary (paths, counters, phase timings, headline metrics) for scripts,
    in the same JSON form as the Rust binary prints it."""
    print(result.summary.to_json())


def _print_summary(result) -> None:
    m, s = result.metrics, result.summary
    d = result.meta["dataset"]
    files = result.paths
    print()
    source = (
        " - bundled SYNTHETIC example data, not market prices" if result.meta["config"]["source"] == "example" else ""
    )
    print(
        f"run {result.run_id}: {d['symbol']} {d['timeframe']} {d['start_time']} -> {d['end_time']} ({d['bars']} bars)"
        + source
    )
    print(
        f"  trades {m['total_trades']}  win_rate {m['win_rate']}  profit_net {m['profit_net']}"
        f"  max_drawdown {m['max_drawdown']}  profit_factor {m['profit_factor']}"
    )
    if s is not None:
        print(f"  wall time {s.timings.total_ns / 1e6:.1f} ms")
    if result.meta.get("stop_out"):
        print(f"  STOPPED OUT at {result.meta['stop_out']['time']}: equity reached the stop-out level")
    print(f"  artefacts: {result.run_dir}")
    print(f"  logs:      {files.text_log}  {files.json_log}  {files.python_log}")
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
#: Span, phase and component names a run's records can carry (docs/observability.md).
_KNOWN_PHASES = {
    *("backtest_run", "data_load", "strategy_init", "backtest_loop", "metrics", "write", "bar", "fill", "exit"),
    *("init", "loop", "finalize"),
    *("execution", "output", "strategy", "profiling", "python"),
}


def _check_phase(phase: str, records: list[dict]) -> None:
    """`--phase` must name a span, phase or component, or it would silently show nothing."""
    seen = {rec[key] for rec in records for key in ("span", "phase", "component") if rec[key]}
    if phase not in _KNOWN_PHASES | seen:
        known = ", ".join(sorted(_KNOWN_PHASES | seen))
        shown = phase if len(phase) <= 64 else phase[:64] + "..."
        raise errors.ConfigError(f"--phase {shown!r} names no span, phase or component; use one of: {known}")


def _logs(args: argparse.Namespace) -> int:
    from omega_v2 import paths
    from omega_v2.logs import read_timeline

    var = paths.var_dir(args.var_dir)
    files = paths.run_paths(var, args.run_id)
    if not any(f.is_file() for f in (files.text_log, files.json_log, files.python_log)):
        raise errors.RunNotFound(
            f"no log files for run `{args.run_id}` under {files.logs_dir}", code=errors.Code.RUN_NOT_FOUND
        )
    minimum = _LEVELS.get((args.level or "TRACE").upper())
    if minimum is None:
        raise errors.ConfigError(
            "--level must be one of TRACE, DEBUG, INFO, WARN, ERROR", code=errors.Code.CONFIG_INVALID
        )
    records = read_timeline(files)
    if args.phase:
        _check_phase(args.phase, records)
    for rec in records:
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
