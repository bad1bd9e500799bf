"""`python -m omega_v2 clean [--var-dir DIR] [--dry-run] [--json]`: what runs that died left in
a var dir (see `docs/crash-safety.md`).

Removes the staging directories of runs whose process is gone (killed, out of memory, power
cut; every run's start does the same) and lists every run that is not complete:

* `failed`: its logs end with a `run failed` record (the error code says why; a cancelled run
  is one with `run.cancelled`);
* `interrupted`: no run directory and no failure record: the process was killed before it
  could say anything, or its log volume failed;
* `in_progress`: a live process is still writing its staging directory (or one on another
  host, which only that host can judge).

Log files and run directories are never removed: the logs are the only account of a run that
died, and deleting them is the user's call.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from omega_v2 import _core, paths
from omega_v2.logs import failure_code

DESCRIPTION = (
    "Removes the staging directories of runs whose process is gone and lists every run that did not"
    " complete: failed (with its error code), interrupted (killed before it could record why) or in"
    " progress. Log files and run directories are never removed (docs/crash-safety.md)."
)
#: Run states, in the order the text report lists them.
STATES = ("in_progress", "interrupted", "failed", "complete")
#: Staging directory states (`omega_v2._core.var_inventory`) of a run that may still be alive.
_ALIVE = ("live", "unknown", "other_host")


@dataclasses.dataclass(frozen=True)
class RunState:
    run_id: str
    #: One of `STATES`.
    state: str
    #: The error code of a failed run.
    code: str | None
    #: The run's files that exist: log files, run directory.
    files: tuple[Path, ...]


@dataclasses.dataclass(frozen=True)
class CleanReport:
    var_dir: Path
    dry_run: bool
    #: Every staging directory: path, run_id, state, reason, bytes, removed.
    staging: list[dict[str, Any]]
    runs: list[RunState]

    def count(self, state: str) -> int:
        return sum(run.state == state for run in self.runs)

    def to_json(self) -> str:
        return json.dumps(
            {
                "var_dir": str(self.var_dir),
                "dry_run": self.dry_run,
                "staging": [{**s, "path": str(s["path"])} for s in self.staging],
                "runs": [{**dataclasses.asdict(r), "files": [str(f) for f in r.files]} for r in self.runs],
            },
            sort_keys=True,
        )


def clean(var_dir: str | os.PathLike[str] | None = None, *, dry_run: bool = False) -> CleanReport:
    """Removes the staging directories of dead runs under the var dir (none with `dry_run`)
    and reports the state of every run found there."""
    var = paths.var_dir(var_dir)
    inventory = _core.var_inventory(var, remove_stale=not dry_run)
    alive = {s["run_id"] for s in inventory["staging"] if s["state"] in _ALIVE}
    runs = [_run_state(paths.run_paths(var, run_id), run_id in alive) for run_id in inventory["run_ids"]]
    return CleanReport(var, dry_run, inventory["staging"], runs)


def _run_state(files: Any, staging_alive: bool) -> RunState:
    present = tuple(p for p in (files.text_log, files.json_log, files.python_log, files.run_dir) if p.exists())
    if files.run_dir.is_dir():
        return RunState(files.run_id, "complete", None, present)
    if staging_alive:
        return RunState(files.run_id, "in_progress", None, present)
    code = failure_code(files)
    return RunState(files.run_id, "failed" if code else "interrupted", code, present)


def _print_text(report: CleanReport) -> None:
    for s in report.staging:
        size = f"{s['bytes'] / 1e6:.1f} MB"
        if s["removed"]:
            print(f"removed staging directory {s['path']} ({size}): {s['reason']}")
        elif s["state"] == "stale":
            verb = "would remove" if report.dry_run else "could not remove"
            print(f"{verb} staging directory {s['path']} ({size}): {s['reason']}")
        else:
            print(f"kept staging directory {s['path']} ({size}): {s['reason']}")
    for run in sorted(report.runs, key=lambda r: (STATES.index(r.state), r.run_id)):
        if run.state == "interrupted":
            print(
                f"interrupted: run {run.run_id} has no run directory and no failure record"
                " (killed, out of memory, power cut, or its log volume failed)"
            )
        elif run.state == "failed":
            print(f"failed: run {run.run_id} (code={run.code})")
        elif run.state == "in_progress":
            print(f"in progress: run {run.run_id}")
    counts = ", ".join(f"{report.count(state)} {state.replace('_', ' ')}" for state in reversed(STATES))
    dead = [s for s in report.staging if (s["state"] == "stale" if report.dry_run else s["removed"])]
    what = "to remove" if report.dry_run else "removed"
    size = sum(s["bytes"] for s in dead) / 1e6
    dirs = "directory" if len(dead) == 1 else "directories"
    print(f"{report.var_dir}: {counts}; {len(dead)} staging {dirs} of dead runs {what} ({size:.1f} MB)")


def _command(args: argparse.Namespace) -> int:
    report = clean(args.var_dir, dry_run=args.dry_run)
    if args.json:
        print(report.to_json())
    else:
        _print_text(report)
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Adds `clean` to the CLI's subparsers; the handler is stored as `handler`."""
    parser = subparsers.add_parser(
        "clean",
        help="remove what killed runs left behind; list runs that failed or never finished",
        description=DESCRIPTION,
    )
    parser.add_argument("--var-dir", help="base directory of logs/ and results/ (default: $OMEGA_VAR_DIR, else ./var)")
    parser.add_argument("--dry-run", action="store_true", help="remove nothing; only report")
    parser.add_argument("--json", action="store_true", help="the report as one JSON object")
    parser.set_defaults(handler=_command)
    return parser
