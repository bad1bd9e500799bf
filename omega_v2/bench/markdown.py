"""The README table: the headline figures of a report, one row per measurement. Rows of
sections that were not run are left out; a skipped section says why."""

from __future__ import annotations

from typing import Any

from omega_v2.bench.workload import FORMATS, STRATEGIES

HEADER = ["| measurement | time | details |", "|---|---|---|"]


def render(report: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []
    for name, part in ROWS:
        section = report.get("sections", {}).get(name)
        if section is None:
            continue
        if "skipped" in section:
            rows.append((name, "skipped", section["skipped"]))
        else:
            rows.extend(part(section))
    lines = [*HEADER, *(f"| {a} | {b} | {c} |" for a, b, c in rows)]
    if "environment" in report:
        lines += ["", caption(report)]
    return "\n".join(lines) + "\n"


def caption(report: dict[str, Any]) -> str:
    """What the table was measured on, in one line under it."""
    env, repeat = report["environment"], report["options"]["repeat"]
    return (
        f"omega_v2 {env['omega_v2']}, Python {env['python']}, {env['platform']}, {env['cpu_count']} CPUs, "
        f"var dir on {env['var_dir_filesystem']}; median of {repeat} fresh process{'es' * (repeat != 1)} per figure."
    )


def _e2e(section: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for strategy, by_format in section["runs"].items():
        ratios = section["ratios"][strategy]
        for fmt in FORMATS:
            run = by_format[fmt]["dev"]
            r = ratios[fmt]
            details = [
                *_run_details(run),
                f"prod/dev loop {x(r['loop_prod_vs_dev'])}, profiling/dev loop {x(r['loop_profiling_vs_dev'])}",
            ]
            if fmt == "csv":
                details.append(f"{x(ratios['wall_csv_vs_parquet']['dev'])} the parquet run's wall")
            rows.append((_run_name(run), seconds(run["wall_s"]), "; ".join(details)))
    return rows


def _peers(section: dict[str, Any]) -> list[tuple[str, str, str]]:
    run, ours, ratios = section["run"], section["ours"], section["ratios"]
    csv, parquet = ratios["wall_vs_ours_csv_dev"], ratios["wall_vs_ours_parquet_dev"]
    details = [
        f"read {seconds(run['read_s'])}, run {seconds(run['run_s'])}",
        f"{x(csv)} our sma_crossover CSV run's wall, {x(parquet)} the parquet run's",
        f"{count(run['trades'])} trades (ours {count(ours['csv']['trades'])})",
    ]
    name = f"backtesting.py {section['version']}, SMA(20/50), same CSV"
    return [(name, seconds(run["wall_s"]), "; ".join(details))]


def _own_strategy(section: dict[str, Any]) -> list[tuple[str, str, str]]:
    bars, ratios = section["bars"], section["ratios"]
    same = {
        leg: "same trades" if section[leg]["trades_identical_to_builtin"] else "OTHER trades"
        for leg in ("signals", "python")
    }
    signals = section["signals"]
    rows = [
        (
            "signals frame, SMA(20/50) crossover, loop",
            seconds(signals["loop_s"]),
            f"{count(bars)} bars, {signals['loop_bars_per_s'] / 1e6:.1f} M bars/s; "
            f"{x(ratios['signals_loop_vs_builtin_loop'])} the built-in's loop; {same['signals']}",
        )
    ]
    python = section["python"]
    details = [f"{python['loop_bars_per_s'] / 1e6:.2f} M bars/s", same["python"]]
    if "backtesting_py" in section:
        peer = section["backtesting_py"]
        details.insert(
            1,
            f"backtesting.py `Strategy.next` run {seconds(peer['run_s'])} "
            f"({x(ratios['backtesting_run_vs_python_strategy'])} ours)",
        )
    rows.append(
        (
            "Python `Strategy`, SMA(20/50) crossover, init + loop",
            seconds(python["init_s"] + python["loop_s"]),
            "; ".join(details),
        )
    )
    rows.append(
        (
            "`Market.from_frames`, bid + ask",
            millis(section["market_from_frames_s"] * 1e3),
            f"{count(section['market_rows_per_side'])} rows per side (pandas)",
        )
    )
    return rows


def _scale(section: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    base = span_name(section["compared_with"]["label"])
    for strategy, run in section["runs"].items():
        r = section["ratios"][strategy]
        details = [
            *_run_details(run),
            f"vs {base}: wall {x(r['wall'])}, engine {x(r['engine_total'])}, loop {x(r['loop'])}"
            f" for {x(r['bars'])} bars",
        ]
        rows.append((_run_name(run), seconds(run["wall_s"]), "; ".join(details)))
    return rows


def _import(section: dict[str, Any]) -> list[tuple[str, str, str]]:
    slowest = section["importtime"]["slowest_self_us"][0]
    details = (
        f'wall of `python -c "import omega_v2"` minus `python -c pass`; -X importtime cumulative '
        f"{millis(section['importtime']['cumulative_us'] / 1e3)}, slowest module {slowest['module']} "
        f"({millis(slowest['self_us'] / 1e3)})"
    )
    return [("import omega_v2", millis(section["wall"]["import_minus_pass_ms"]), details)]


def _loading(section: dict[str, Any]) -> list[tuple[str, str, str]]:
    pyarrow = section["pyarrow"]
    rows = []
    for fmt, engine in section["engine"].items():
        details = [f"{engine['mb_per_s']:.0f} MB/s"]
        if "skipped" in pyarrow:
            details.append(pyarrow["skipped"])
        else:
            for key, ratio in section["ratios"].items():
                prefix = f"engine_{fmt}_vs_pyarrow_"
                if key.startswith(prefix):
                    name = key[len(prefix) :]
                    details.append(f"pyarrow {name.replace('_', ' ')} {millis(pyarrow[name]['ms'])} ({x(ratio)})")
        name = f"data load, bid + ask {fmt} ({engine['bytes'] / 2**20:.0f} MB)"
        rows.append((name, millis(engine["data_load_ms"]), "; ".join(details)))
    return rows


def _write(section: dict[str, Any]) -> list[tuple[str, str, str]]:
    floor = section["floor"]
    details = (
        f"fsync floor for the same {floor['bytes'] / 2**20:.1f} MB in {floor['files']} files {millis(floor['ms'])} "
        f"({x(section['ratios']['write_vs_floor'])}), + {millis(floor['dir_sync_ms'])} directory sync"
    )
    return [("write phase (artefacts written and fsynced)", millis(section["engine"]["write_ms"]), details)]


ROWS = (
    ("e2e", _e2e),
    ("peers", _peers),
    ("own_strategy", _own_strategy),
    ("scale", _scale),
    ("import", _import),
    ("loading", _loading),
    ("write", _write),
)


def _run_name(run: dict[str, Any]) -> str:
    return f"{STRATEGIES[run['strategy']][0]}, {span_name(run['span'])}, {run['format']}, {run['mode']}"


#: phase key in `phases_ms` -> its name in the table
PHASE_NAMES = {
    "data_load": "load",
    "strategy_init": "init",
    "backtest": "loop",
    "metrics": "metrics",
    "write": "write",
    "outside_engine": "outside the engine",
}


def _run_details(run: dict[str, Any]) -> list[str]:
    return [
        f"{count(run['bars'])} bars",
        f"loop {run['loop_bars_per_s'] / 1e6:.1f} M bars/s",
        f"peak RSS {run['peak_rss_mb']:.0f} MB",
        f"{count(run['trades'])} trades",
        "phases " + ", ".join(f"{name} {millis(run['phases_ms'][key])}" for key, name in PHASE_NAMES.items()),
    ]


def span_name(label: str) -> str:
    """`1y` -> `1 year`, `10y` -> `10 years`, `3d` -> `3 days`."""
    n, unit = int(label[:-1]), {"y": "year", "d": "day"}[label[-1]]
    return f"{n} {unit}" + ("" if n == 1 else "s")


def seconds(value: float) -> str:
    return f"{value:.3g} s"


def millis(value: float) -> str:
    return f"{value:.0f} ms" if abs(value) >= 10 else f"{value:.1f} ms"


def x(value: float | None) -> str:
    """A ratio as `1.23x`; `n/a` when it could not be computed."""
    if value is None:
        return "n/a"
    return f"{value:.2f}x" if value < 10 else f"{value:.0f}x"


def count(value: int) -> str:
    return f"{value:,}"
