"""`python -m omega_v2 bench`: end-to-end performance report as one JSON document (SPEC 9).

For each span (``--years 1,10`` by default; ``--days N`` for a quick run) the bench

1. generates seeded synthetic EURUSD M1 bid/ask parquet data with the Rust binary
   (``omega_v2 synth``), two weeks longer than the span so the 500 warmup bars exist;
2. writes normalised configs (``load_config(...).canonical_json``) for MRZ scenario 1 and
   sma_crossover (20/50) over the span;
3. runs each (strategy, span, mode) end to end - load, loop, metrics, all artefacts - in a
   fresh ``omega_v2 run CONFIG --quiet`` process, modes ``dev``, ``prod`` and ``profiling``
   (dev + ``--profile``), so every figure belongs to one run: wall time of the process, the
   engine's phase timings and counters from the run summary, and the peak RSS of that child
   alone (``ru_maxrss`` from ``os.wait4``);
4. times the Python API path (``omega_v2.run``) for the first span in a fresh interpreter.

It reports loop throughput (``bars_processed / backtest_ns``), the loop and wall-time overhead
ratios prod/dev and profiling/dev, and the cost ratio of the longest to the shortest span.
Timings are reports, never assertions. The binary is ``target/release/omega_v2`` of this
checkout (``--binary`` or ``$OMEGA_V2_BINARY`` to override); build it with
``cargo build --release --bin omega_v2``. ``RUST_LOG`` is removed from the children's
environment so each mode runs at its own default level.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from omega_v2.config import example_config_path, load_config

BINARY_ENV = "OMEGA_V2_BINARY"
DEFAULT_BINARY = Path(__file__).resolve().parent.parent / "target" / "release" / "omega_v2"
BUILD_HINT = "cargo build --release --bin omega_v2"
MODES = ("dev", "prod", "profiling")
STRATEGIES = {
    "mrz": ("mean_reversion_z_score", None),  # the example config's parameters (scenario 1)
    "sma": ("sma_crossover", {"fast": 20, "slow": 50}),
}
# The last day of every span; spans count back from it.
SPAN_END = date(2024, 12, 31)
# Extra data before the span for the warmup bars (500 M1 bars need less than a day of weekdays).
WARMUP_DAYS = 14
WARMUP_BARS = 500
ARTEFACTS = ("trades.json", "equity.csv", "metrics.json", "meta.json")
PHASES = ("data_load", "strategy_init", "backtest", "metrics", "write", "total")

_API_CHILD = """
import json, sys, time
import omega_v2
args = json.loads(sys.argv[1])
started = time.perf_counter()
result = omega_v2.run(args["config"], data_root=args["data_root"], var_dir=args["var_dir"], run_id=args["run_id"])
wall = time.perf_counter() - started
print(json.dumps({"wall_s": wall, "summary": result.summary, "run_dir": str(result.run_dir)}))
"""


class BenchError(Exception):
    """A bench step failed (missing binary, a run that exited non-zero)."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Registers the `bench` command on the CLI's subparsers."""
    parser = subparsers.add_parser(
        "bench",
        help="end-to-end performance report (JSON): throughput, phases, peak RSS, mode overheads",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--years", default="1,10", help="comma-separated spans in years (default: 1,10)")
    parser.add_argument("--days", type=int, help="one span of N days instead of --years (quick runs, tests)")
    parser.add_argument("--out", help="also write the JSON report to this file")
    parser.add_argument("--work-dir", help="keep data, configs and runs here (default: a temporary directory)")
    parser.add_argument("--binary", help=f"omega_v2 binary (default: ${BINARY_ENV} or {DEFAULT_BINARY})")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of dev,prod,profiling")
    parser.add_argument("--strategies", default="mrz,sma", help="comma-separated subset of mrz,sma")
    parser.add_argument("--repeat", type=int, default=1, help="runs per combination; the fastest is reported")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic data")
    parser.add_argument("--no-api", action="store_true", help="skip the Python API measurement")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Runs the bench; prints the JSON report. 0 on success, 2 on a setup or run failure."""
    try:
        report = _bench(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=2, sort_keys=False)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


# --------------------------------------------------------------------------------------


def _bench(args: argparse.Namespace) -> dict[str, Any]:
    binary = _binary(args.binary)
    spans = _spans(args)
    modes = _subset(args.modes, MODES, "--modes")
    strategies = _subset(args.strategies, tuple(STRATEGIES), "--strategies")
    if args.repeat < 1:
        raise BenchError("--repeat must be >= 1")
    keep = args.work_dir is not None
    work = Path(args.work_dir) if keep else Path(tempfile.mkdtemp(prefix="omega_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    tag = time.strftime("%Y%m%dT%H%M%S")
    try:
        data = {label: _synth(binary, work / "data" / label, first, args.seed) for label, first, _ in spans}
        runs = []
        for label, first, years in spans:
            for key in strategies:
                config = _config(key, first, "dev")
                for mode in modes:
                    cfg = dict(config, run_mode="prod" if mode == "prod" else "dev")
                    path = _write_config(work / "configs" / f"{key}_{label}_{mode}.json", cfg)
                    best = None
                    for rep in range(args.repeat):
                        run_id = f"bench-{tag}-{key}-{label}-{mode}-{rep}"
                        result = _run_binary(binary, path, run_id, work, data[label]["root"], mode == "profiling")
                        if best is None or result["wall_s"] < best["wall_s"]:
                            best = result
                    runs.append(
                        {
                            "strategy": key,
                            "strategy_name": STRATEGIES[key][0],
                            "span": label,
                            "years": years,
                            "mode": mode,
                            "repeats": args.repeat,
                            **best,
                        }
                    )
        label, first, _ = spans[0]
        api = None if args.no_api else _api(_config("mrz", first, "dev"), data[label]["root"], work, f"bench-{tag}-api")
        return {
            "schema": "omega_v2.bench/1",
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "environment": _environment(binary),
            "work_dir": str(work) if keep else None,
            "data": {k: {key: v for key, v in d.items() if key != "root"} for k, d in data.items()},
            "runs": runs,
            "overhead": _overheads(runs),
            "scaling": _scaling(runs, spans),
            "api": api,
        }
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def _binary(explicit: str | None) -> Path:
    path = Path(explicit or os.environ.get(BINARY_ENV) or DEFAULT_BINARY)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise BenchError(f"the omega_v2 binary is missing at {path}; build it with `{BUILD_HINT}` (or pass --binary)")
    return path


def _spans(args: argparse.Namespace) -> list[tuple[str, date, float]]:
    """(label, first day, length in years) per span, all ending on SPAN_END."""
    if args.days is not None:
        if args.days < 1:
            raise BenchError("--days must be >= 1")
        return [(f"{args.days}d", SPAN_END - timedelta(days=args.days - 1), args.days / 365.25)]
    try:
        years = [int(y) for y in args.years.split(",") if y.strip()]
    except ValueError:
        raise BenchError("--years must be a comma-separated list of integers, e.g. 1,10") from None
    if not years or min(years) < 1:
        raise BenchError("--years needs at least one span of 1 year or more")
    return [(f"{y}y", date(SPAN_END.year - y + 1, 1, 1), float(y)) for y in sorted(set(years))]


def _subset(value: str, allowed: tuple[str, ...], flag: str) -> list[str]:
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in allowed]
    if unknown or not chosen:
        raise BenchError(f"{flag} takes a comma-separated subset of {','.join(allowed)}")
    return chosen


def _synth(binary: Path, root: Path, first: date, seed: int) -> dict[str, Any]:
    """Seeded M1 bid/ask parquet from WARMUP_DAYS before `first` to SPAN_END."""
    start = first - timedelta(days=WARMUP_DAYS)
    cmd = [
        str(binary),
        "synth",
        "--root",
        str(root),
        "--start",
        start.isoformat(),
        "--end",
        SPAN_END.isoformat(),
        "--seed",
        str(seed),
        "--timeframes",
        "M1",
        "--format",
        "parquet",
    ]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"synthetic data generation failed: {proc.stderr.strip()}")
    files = [Path(line) for line in proc.stdout.splitlines() if line.strip()]
    return {
        "root": root,
        "first_day": start.isoformat(),
        "last_day": SPAN_END.isoformat(),
        "synth_s": time.perf_counter() - started,
        "file_mb": round(sum(f.stat().st_size for f in files) / 2**20, 3),
    }


def _config(key: str, first: date, run_mode: str) -> dict[str, Any]:
    config = json.loads(example_config_path().read_text(encoding="utf-8"))
    name, params = STRATEGIES[key]
    config.update(
        strategy_name=name,
        symbol="EURUSD",
        start_date=first.isoformat(),
        end_date=SPAN_END.isoformat(),
        run_mode=run_mode,
        warmup_bars=WARMUP_BARS,
        timeframes={"primary": "M1", "additional": []},
    )
    if params is not None:
        config["strategy_parameters"] = params
    return config


def _write_config(path: Path, config: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(load_config(config).canonical_json + "\n", encoding="utf-8")
    return path


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "RUST_LOG"}


def _measure(cmd: list[str], out: Path) -> tuple[int, float, float, str]:
    """Runs `cmd` as a child with stdout to `out`; (exit code, wall s, peak RSS MB, stderr)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as stdout, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=_child_env())
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        err = stderr.read().decode("utf-8", "replace").strip()
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss_mb = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    return proc.returncode, wall, rss_mb, err


def _run_binary(binary: Path, config: Path, run_id: str, work: Path, data_root: Path, profile: bool) -> dict[str, Any]:
    cmd = [
        str(binary),
        "run",
        str(config),
        "--quiet",
        "--run-id",
        run_id,
        "--data-root",
        str(data_root),
        "--var-dir",
        str(work / "var"),
    ]
    if profile:
        cmd.append("--profile")
    out = work / "stdout" / f"{run_id}.json"
    code, wall, rss_mb, err = _measure(cmd, out)
    if code != 0:
        raise BenchError(f"run {run_id} exited with {code}: {err}")
    summary = json.loads(out.read_text(encoding="utf-8"))
    return {"run_id": run_id, "wall_s": wall, "peak_rss_mb": round(rss_mb, 3), **_from_summary(summary)}


def _from_summary(summary: dict[str, Any]) -> dict[str, Any]:
    timings, counters = summary["timings"], summary["counters"]
    bars = counters["bars_processed"]
    loop_s = timings["backtest_ns"] / 1e9
    run_dir = Path(summary["run_dir"])
    return {
        "bars": bars,
        "trades": counters["trades_emitted"],
        "loop_bars_per_s": bars / loop_s if loop_s > 0 else None,
        "loop_ns_per_bar": timings["backtest_ns"] / bars if bars else None,
        "phases_ms": {p: timings[f"{p}_ns"] / 1e6 for p in PHASES},
        "run_dir": str(run_dir),
        "artefacts": sorted(name for name in ARTEFACTS if (run_dir / name).is_file()),
        "profiling_artefacts": sorted(p.name for p in (run_dir / "profiling").glob("*"))
        if (run_dir / "profiling").is_dir()
        else [],
    }


def _api(config: dict[str, Any], data_root: Path, work: Path, run_id: str) -> dict[str, Any]:
    """`omega_v2.run` in a fresh interpreter: wall time inside it, of the process and peak RSS."""
    payload = json.dumps(
        {"config": config, "data_root": str(data_root), "var_dir": str(work / "var"), "run_id": run_id}
    )
    out = work / "stdout" / f"{run_id}.json"
    code, wall, rss_mb, err = _measure([sys.executable, "-c", _API_CHILD, payload], out)
    if code != 0:
        return {"skipped": f"the Python API run failed (exit {code}): {err.splitlines()[-1] if err else ''}"}
    child = json.loads(out.read_text(encoding="utf-8"))
    return {
        "strategy": "mrz",
        "span": config["start_date"] + ".." + config["end_date"],
        "mode": "dev",
        "run_id": run_id,
        "wall_s": child["wall_s"],
        "process_wall_s": wall,
        "peak_rss_mb": round(rss_mb, 3),
        **_from_summary(child["summary"]),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _overheads(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per strategy and span: loop and wall time of prod and profiling relative to dev."""
    by = {(r["strategy"], r["span"], r["mode"]): r for r in runs}
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for strategy, span, mode in by:
        dev = by.get((strategy, span, "dev"))
        if mode == "dev" or dev is None:
            continue
        r = by[(strategy, span, mode)]
        out.setdefault(strategy, {}).setdefault(span, {}).update(
            {
                f"loop_{mode}_vs_dev": _ratio(r["phases_ms"]["backtest"], dev["phases_ms"]["backtest"]),
                f"wall_{mode}_vs_dev": _ratio(r["wall_s"], dev["wall_s"]),
            }
        )
    return out


def _scaling(runs: list[dict[str, Any]], spans: list[tuple[str, date, float]]) -> dict[str, Any]:
    """Cost of the longest span relative to the shortest, per strategy and mode (linear = bars ratio)."""
    if len(spans) < 2:
        return {}
    small, big = spans[0][0], spans[-1][0]
    by = {(r["strategy"], r["span"], r["mode"]): r for r in runs}
    out: dict[str, Any] = {"ratio": f"{big}/{small}"}
    for (strategy, span, mode), r in by.items():
        other = by.get((strategy, small, mode))
        if span != big or other is None:
            continue
        out.setdefault(strategy, {})[mode] = {
            "bars": _ratio(r["bars"], other["bars"]),
            "wall": _ratio(r["wall_s"], other["wall_s"]),
            "loop": _ratio(r["phases_ms"]["backtest"], other["phases_ms"]["backtest"]),
            "data_load": _ratio(r["phases_ms"]["data_load"], other["phases_ms"]["data_load"]),
            "peak_rss": _ratio(r["peak_rss_mb"], other["peak_rss_mb"]),
        }
    return out


def _environment(binary: Path) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "binary": str(binary),
        "rss_source": "ru_maxrss of each child process (os.wait4)",
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m omega_v2.bench [options]`, the same as `python -m omega_v2 bench [options]`."""
    parser = argparse.ArgumentParser(prog="python -m omega_v2")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
