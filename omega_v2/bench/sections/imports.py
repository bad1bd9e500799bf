"""`import`: what `import omega_v2` costs a user's process: `-X importtime` (cumulative time of
the top-level import and the five slowest modules by their own time) and the wall time of
`python -c "import omega_v2"` minus that of `python -c "pass"` (medians over the repeats)."""

from __future__ import annotations

import sys
from typing import Any

from omega_v2.bench.context import Bench
from omega_v2.bench.measure import measure, progress
from omega_v2.bench.stats import ImportRecord, median, parse_importtime

PACKAGE = "omega_v2"
SLOWEST = 5


def section(bench: Bench) -> dict[str, Any]:
    return {"importtime": _importtime(bench), "wall": _wall(bench)}


def _importtime(bench: Bench) -> dict[str, Any]:
    def once(_: int) -> dict[str, Any]:
        cmd = [sys.executable, "-X", "importtime", "-c", f"import {PACKAGE}"]
        records = parse_importtime(measure(cmd, what="python -X importtime").stderr)
        return {"cumulative_us": top_level(records, PACKAGE).cumulative_us, "records": records}

    timed = bench.repeated("-X importtime omega_v2", once, key="cumulative_us")
    slowest = sorted(timed["records"], key=lambda r: r.self_us, reverse=True)[:SLOWEST]
    return {
        "cumulative_us": timed["cumulative_us"],
        "cumulative_us_samples": timed["cumulative_us_samples"],
        "slowest_self_us": [
            {"module": r.module, "self_us": r.self_us, "cumulative_us": r.cumulative_us} for r in slowest
        ],
    }


def _wall(bench: Bench) -> dict[str, Any]:
    walls: dict[str, list[float]] = {"import": [], "pass": []}
    for i in range(bench.options.repeat):
        # Alternated, so that a slow moment of the machine weighs on both.
        for name, code in (("import", f"import {PACKAGE}"), ("pass", "pass")):
            walls[name].append(measure([sys.executable, "-c", code], what=f'python -c "{code}"').wall_s)
        progress(f"python -c import/pass [{i + 1}/{bench.options.repeat}]")
    import_ms, pass_ms = (median(walls[k]) * 1e3 for k in ("import", "pass"))
    return {
        "import_ms": import_ms,
        "pass_ms": pass_ms,
        "import_minus_pass_ms": import_ms - pass_ms,
        "import_samples_s": walls["import"],
        "pass_samples_s": walls["pass"],
    }


def top_level(records: list[ImportRecord], package: str) -> ImportRecord:
    return next(r for r in records if r.module == package and r.depth == 0)
