"""`loading`: the engine's data_load phase on the year (from the `e2e` sma dev runs) next to
pyarrow reading the same files in a fresh process (median of the repeats).

The engine's phase does more than read: it decodes the timestamps, checks every row (finite,
positive, OHLC-consistent, strictly increasing, duplicates), joins bid and ask, and hashes both
files (sha256, on a second thread) for meta.json; pyarrow's figures are of the read alone.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib import metadata
from typing import Any

from omega_v2.bench.children import script
from omega_v2.bench.context import Bench
from omega_v2.bench.measure import json_output, measure
from omega_v2.bench.stats import mb, per_second, ratio

SPAN = "year"
# name -> (format, threads, sides)
VARIANTS = {
    "csv_one_file_1_thread": ("csv", False, ("bid",)),
    "csv_both_files_1_thread": ("csv", False, ("bid", "ask")),
    "csv_both_files_threads": ("csv", True, ("bid", "ask")),
    "parquet_both_files": ("parquet", True, ("bid", "ask")),
}
# engine format -> the pyarrow variants it is compared with
COMPARED = {"csv": ("csv_both_files_1_thread", "csv_both_files_threads"), "parquet": ("parquet_both_files",)}


def section(bench: Bench) -> dict[str, Any]:
    engine = {fmt: _engine(bench, fmt) for fmt in COMPARED}
    if importlib.util.find_spec("pyarrow") is None:
        return {"engine": engine, "pyarrow": {"skipped": "pyarrow is not installed; pip install pyarrow"}}
    pyarrow = {name: _pyarrow(bench, name, *variant) for name, variant in VARIANTS.items()}
    return {
        "engine": engine,
        "pyarrow": {"version": metadata.version("pyarrow"), **pyarrow},
        "ratios": {
            f"engine_{fmt}_vs_pyarrow_{name}": ratio(engine[fmt]["data_load_ms"], pyarrow[name]["ms"])
            for fmt, names in COMPARED.items()
            for name in names
        },
    }


def _engine(bench: Bench, fmt: str) -> dict[str, Any]:
    run = bench.omega("sma", SPAN, fmt, "dev")
    nbytes = sum(bench.dataset(SPAN, fmt).nbytes().values())
    ms = run["phases_ms"]["data_load"]
    return {"run_id": run["run_id"], "data_load_ms": ms, "bytes": nbytes, "mb_per_s": per_second(mb(nbytes), ms / 1e3)}


def _pyarrow(bench: Bench, name: str, fmt: str, threads: bool, sides: tuple[str, ...]) -> dict[str, Any]:
    files = bench.dataset(SPAN, fmt).files
    cmd = [sys.executable, script("pyarrow_read"), fmt, "1" if threads else "0", *(str(files[s]) for s in sides)]
    what = f"pyarrow {name}"

    def once(_: int) -> dict[str, Any]:
        measured = measure(cmd, what=what)
        doc = json_output(measured, what)
        ms = doc["seconds"] * 1e3
        return {"ms": ms, "mb_per_s": per_second(mb(doc["bytes"]), doc["seconds"]), **doc, "wall_s": measured.wall_s}

    return bench.repeated(what, once, key="ms")
