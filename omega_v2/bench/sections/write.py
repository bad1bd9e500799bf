"""`write`: the engine's write phase of a year run against the fsync floor for the same bytes:
a fresh process writing that run's artefacts (equity.csv, trades.json and the small files, read
beforehand) to new files in the var dir's file system, fsyncing each file, then the directory.

The ratio compares the write phase with the floor's file part (write + fsync of each file):
the engine syncs its directory when it moves the finished run into place, after the phases it
times, so the floor's directory sync is reported on its own. The engine also formats the bytes
(one equity row per bar) while the floor only copies them, but it overlaps that with the disk:
it asks the kernel to start writing back every finished 8 MiB and writes its two large files
on two threads, so a ratio below 1 is possible and means the phase waits on little but the
disk; the plain floor writes each file whole, then fsyncs it, as straightforward code would."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from omega_v2.bench.children import script
from omega_v2.bench.context import Bench
from omega_v2.bench.measure import json_output, measure
from omega_v2.bench.stats import mb, per_second, ratio

RUN = ("sma", "year", "parquet", "dev")


def section(bench: Bench) -> dict[str, Any]:
    run = bench.omega(*RUN)
    run_dir = Path(run["run_dir"])
    # The run directory's own files: a dev run has no profiling/ subdirectory.
    sources = [run_dir / name for name in run["artefacts"] if "/" not in name]
    floors = bench.var_dir / "write-floor"
    floors.mkdir(parents=True, exist_ok=True)
    what = "write floor"

    def once(i: int) -> dict[str, Any]:
        cmd = [sys.executable, script("write_floor"), str(floors / f"{bench.tag}-{i}"), *map(str, sources)]
        doc = json_output(measure(cmd, what=what), what)
        return {
            "ms": doc["files_s"] * 1e3,
            "dir_sync_ms": doc["dirs_s"] * 1e3,
            "mb_per_s": per_second(mb(doc["bytes"]), doc["files_s"]),
            **doc,
        }

    floor = bench.repeated(what, once, key="ms")
    write_ms = run["phases_ms"]["write"]
    return {
        "run_id": run["run_id"],
        "files": {p.name: p.stat().st_size for p in sources},
        "engine": {"write_ms": write_ms, "mb_per_s": per_second(mb(floor["bytes"]), write_ms / 1e3)},
        "floor": floor,
        "ratios": {"write_vs_floor": ratio(write_ms, floor["ms"])},
    }
