"""`replay`: rerun a finished run from its run_id alone, under a new run_id, and prove it is the
same run: the data files are checked against the run's manifest first (a changed file is named
with both hashes and nothing runs), and the new artefacts must be byte-identical to the
original ones. So a prod run that went wrong can be re-lived at debug level, with profiling.
"""

from __future__ import annotations

import argparse
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from omega_v2 import _core, provenance
from omega_v2.errors import Code, ConfigError

LEVELS = ("debug", "trace")


@dataclass(frozen=True)
class Replay:
    """The rerun, its original, and whether their results are byte-identical."""

    original: Any
    result: Any
    differing: tuple[str, ...]

    @property
    def identical(self) -> bool:
        return not self.differing


def replay(
    run: Any,
    *,
    run_id: str | None = None,
    level: str | None = None,
    profile: bool = False,
    var_dir: str | os.PathLike[str] | None = None,
    data_root: str | os.PathLike[str] | None = None,
    data: Any = None,
    signals: Any = None,
    strategy: Any = None,
    progress: bool | None = None,
) -> Replay:
    """Reruns `run` (a run_id, a run directory or a RunResult) under a new run_id (default
    `<run_id>-replay-<n>`), with its logs at `level` (debug or trace) if given and profiling if
    asked; in-memory data, signals and a Python strategy must be passed again (their identities
    are checked). Raises DataError (code data.changed) before running when a data file changed."""
    from omega_v2.result import load_run
    from omega_v2.runner import run as run_backtest

    rec = provenance.recorded(getattr(run, "run_dir", run), var_dir)
    provenance.check_inputs(rec, data=data, signals=signals, strategy=strategy)
    config = provenance.recorded_config(rec)
    root = None if rec.in_memory else provenance.data_root(rec, data_root)
    var = _core.RunPaths.from_run_dir(rec.run_dir).var_dir if var_dir is None else var_dir
    new_id = run_id or _next_id(rec, var)
    with _log_level(level):
        result = run_backtest(
            config,
            data=data,
            signals=signals,
            strategy=strategy,
            data_root=root,
            run_id=new_id,
            profile=profile or None,
            var_dir=var,
            progress=progress,
        )
    original = load_run(rec.run_dir)
    differing = tuple(
        name for name in _core.RESULT_ARTEFACTS if _bytes(original.run_dir / name) != _bytes(result.run_dir / name)
    )
    return Replay(original, result, differing)


def _bytes(path: Any) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _next_id(rec: provenance.RecordedRun, var: Any) -> str:
    n = 1
    while (paths := _core.RunPaths(var, f"{rec.run_id}-replay-{n}")).run_dir.exists() or paths.python_log.exists():
        n += 1
    return paths.run_id


@contextmanager
def _log_level(level: str | None):
    """Both log streams at `level` for the replay only."""
    if level is None:
        yield
        return
    if level not in LEVELS:
        raise ConfigError(f"--level must be one of {', '.join(LEVELS)}", code=Code.CONFIG_INVALID)
    saved = {k: os.environ.get(k) for k in ("RUST_LOG", "OMEGA_PY_LOG")}
    os.environ.update(RUST_LOG=level, OMEGA_PY_LOG="DEBUG")
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "replay", help="rerun a run from its run_id under a new run_id and check the results are byte-identical"
    )
    parser.add_argument("run_id", help="the run's id (or its run directory)")
    parser.add_argument("--level", choices=LEVELS, help="log level of the replay (both log streams)")
    parser.add_argument("--profile", action="store_true", help="profile the replay (CPU profile, phase counters)")
    parser.add_argument("--data-root", help="where the run's data files are now (default: where it read them)")
    parser.add_argument("--run-id", dest="new_run_id", help="run_id of the replay (default: <run_id>-replay-<n>)")
    parser.add_argument("--var-dir", help="base directory of logs/ and results/ (default: the run's own)")
    parser.set_defaults(handler=_command)
    return parser


def _command(args: argparse.Namespace) -> int:
    from omega_v2.run_diff import UnreadableRunError, diff_runs

    done = replay(
        args.run_id,
        run_id=args.new_run_id,
        level=args.level,
        profile=args.profile,
        var_dir=args.var_dir,
        data_root=args.data_root,
        progress=None,
    )
    head = f"replay {done.result.run_id} of {done.original.run_id}"
    if done.identical:
        print(f"{head}: byte-identical ({', '.join(_core.RESULT_ARTEFACTS)})")
        return 0
    print(f"{head} DIFFERS in {', '.join(done.differing)}:")
    try:
        print(diff_runs(done.original.run_dir, done.result.run_dir).render())
    except UnreadableRunError as e:  # the original's files were damaged after its run
        print(f"  (no diff: {e})")
    return 1
