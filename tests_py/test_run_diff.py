"""`omega_v2.run_diff` (`python -m omega_v2 diff`): real runs on the bundled example data,
and hand-edited copies of their run directories for the data, equity and error cases.

Every expectation is derived here from the artefacts themselves (trade lists, equity rows,
metrics.json values), never from what the diff printed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import omega_v2
from omega_v2.paths import EXAMPLE_DATA_ROOT
from omega_v2.run_diff import UnreadableRunError, add_parser, diff_runs
from omega_v2.run_diff.command import run as diff_handler
from omega_v2.run_diff.metrics_section import MetricRow

# Seeds of the prod runs: long enough that no other number in the output contains them.
SEED_A, SEED_B = 8_675_309_123_457, 5_551_234_987_001
# On the example data this parameter keeps the first 9 trades and changes the 10th.
CHANGED_PARAMETER = ("z_score_long", -2.5)


@pytest.fixture(scope="module")
def var(tmp_path_factory: pytest.TempPathFactory, make_config: Callable[..., dict[str, Any]]) -> Path:
    """A var dir with real runs; each gets the config.json the engine will write."""
    root = tmp_path_factory.mktemp("var")
    name, changed = CHANGED_PARAMETER
    configs = {
        "base": make_config(),
        "base-again": make_config(),
        "param": make_config({"strategy_parameters": {name: changed}}),
        # A parameter that changes the config but, on this data, no trade.
        "no-effect": make_config({"strategy_parameters": {"tp_min_distance": 0.002}}),
        "week": make_config(end_date="2025-01-10"),
        "prod-a": make_config(run_mode="prod", rng_seed=SEED_A),
        "prod-b": make_config(run_mode="prod", rng_seed=SEED_B),
    }
    for run_id, config in configs.items():
        result = omega_v2.run(config, data_root=EXAMPLE_DATA_ROOT, var_dir=root, run_id=run_id)
        normalized = omega_v2.load_config(config).normalized
        (result.run_dir / "config.json").write_text(json.dumps(normalized), encoding="utf-8")
    return root


@pytest.fixture
def cli(run_python: Any, var: Path) -> Callable[..., Any]:
    """`cli(*args)` -> CompletedProcess of `python -m omega_v2.run_diff ... --var-dir VAR`."""
    return lambda *args: run_python(None, *args, "--var-dir", str(var), module="omega_v2.run_diff")


def run_dir(var: Path, run_id: str) -> Path:
    return omega_v2.load_run(run_id, var_dir=var).run_dir


def copy_run(var: Path, run_id: str, dest: Path) -> Path:
    """A copy of a run directory to edit by hand; the diff takes its path."""
    shutil.copytree(run_dir(var, run_id), dest)
    return dest


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def edit_json(path: Path, edit: Callable[[Any], None]) -> None:
    data = read_json(path)
    edit(data)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def equity_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def make_daily(run: Path, *, record_in_config: bool = True) -> None:
    """Rewrites a run's equity.csv as `outputs.equity = "daily"` would: the last row of each UTC day."""
    lines = (run / "equity.csv").read_text(encoding="utf-8").splitlines()
    last_of_day = {line[:10]: line for line in lines[1:]}
    (run / "equity.csv").write_text("\n".join([lines[0], *last_of_day.values()]) + "\n", encoding="utf-8")
    if record_in_config:
        edit_json(run / "config.json", lambda c: c["outputs"].update(equity="daily"))
    else:  # a config.json from before `outputs` existed: the granularity has to be inferred
        edit_json(run / "config.json", lambda c: c.pop("outputs"))


def section(text: str, label: str) -> list[str]:
    """The summary line of a text section and its indented detail lines."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{label} "))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines))
    return lines[start:end]


def first_differing(a: list[Any], b: list[Any]) -> int:
    return next(i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)


# --------------------------------------------------------------------------------------
# (a) identical runs


def test_two_runs_of_one_config_are_identical_and_exit_0(var: Path, cli: Any) -> None:
    trades = read_json(run_dir(var, "base") / "trades.json")
    assert len(trades) > 0, "an identical diff of two empty runs would prove nothing"
    proc = cli("base", "base-again")
    assert proc.returncode == 0, proc.stderr
    assert "results identical" in proc.stdout
    for label in ("config", "data", "engine", "counters", "metrics", "trades", "equity"):
        assert section(proc.stdout, label)[0].split()[1] == "identical", label
    assert section(proc.stdout, "trades") == [f"trades    identical ({len(trades):,} trades)"]

    diff = diff_runs("base", "base-again", var_dir=var)
    assert diff.identical and diff.to_dict()["identical"] and diff.differing_artefacts == ()
    as_json = json.loads(cli("base", "base-again", "--json").stdout)
    metrics = read_json(run_dir(var, "base") / "metrics.json")["metrics"]
    assert [m["name"] for m in as_json["metrics"]["metrics"]] == list(metrics), "--json lists every metric"


def test_run_directories_work_as_well_as_run_ids(var: Path) -> None:
    diff = diff_runs(run_dir(var, "base"), str(run_dir(var, "param")))
    assert not diff.identical and diff.run_a.name == "base" and diff.run_b.name == "param"


# --------------------------------------------------------------------------------------
# (b) one strategy parameter differs


def test_config_diff_names_exactly_the_changed_parameter_and_hides_its_value(var: Path, cli: Any) -> None:
    name, changed = CHANGED_PARAMETER
    path = f"strategy_parameters.{name}"
    original = read_json(run_dir(var, "base") / "config.json")["strategy_parameters"][name]
    proc = cli("base", "param")
    assert proc.returncode == 1, proc.stderr
    config = section(proc.stdout, "config")
    assert [line.split() for line in config if line.startswith(f"  {path}")] == [[path, "differs"]]
    assert not any(repr(changed) in line or repr(original) in line for line in config)

    hashes = [read_json(run_dir(var, r) / "meta.json")["config"]["hash"] for r in ("base", "param")]
    assert config[0].startswith(f"config    hash {hashes[0][:12]} -> {hashes[1][:12]}, 1 field differs")
    fields = diff_runs("base", "param", var_dir=var).to_dict()["config"]["fields"]
    assert fields == [{"path": path, "change": "changed", "values_shown": False}]


def test_show_values_shows_the_changed_parameter(var: Path, cli: Any) -> None:
    name, changed = CHANGED_PARAMETER
    path = f"strategy_parameters.{name}"
    original = read_json(run_dir(var, "base") / "config.json")["strategy_parameters"][name]
    config = section(cli("base", "param", "--show-values").stdout, "config")
    assert [line.split() for line in config if line.startswith(f"  {path}")] == [
        [path, repr(original), "->", repr(changed)]
    ]
    fields = diff_runs("base", "param", var_dir=var, show_values=True).to_dict()["config"]["fields"]
    assert fields == [{"path": path, "change": "changed", "values_shown": True, "a": original, "b": changed}]


def test_allowlisted_fields_are_shown_by_value_without_show_values(var: Path) -> None:
    lines = section(diff_runs("base", "week", var_dir=var).render(), "config")
    assert "  end_date  2025-01-31 -> 2025-01-10" in lines


def test_metric_deltas_match_the_two_metrics_files(var: Path, cli: Any) -> None:
    a = read_json(run_dir(var, "base") / "metrics.json")["metrics"]
    b = read_json(run_dir(var, "param") / "metrics.json")["metrics"]
    rows = {r["name"]: r for r in diff_runs("base", "param", var_dir=var).to_dict()["metrics"]["metrics"]}
    assert list(rows) == list(a)
    numeric = [k for k in a if isinstance(a[k], (int, float)) and isinstance(b[k], (int, float))]
    assert len(numeric) >= 16
    for key in numeric:
        assert rows[key]["delta"] == pytest.approx(b[key] - a[key], abs=1e-9), key
        expected_rel = None if a[key] == 0 else (b[key] - a[key]) / abs(a[key])
        assert rows[key]["rel_change"] == pytest.approx(expected_rel, abs=1e-6), key
        assert rows[key]["differs"] == (a[key] != b[key]), key
    for key in set(a) - set(numeric):
        assert rows[key]["delta"] is None and rows[key]["rel_change"] is None

    table = section(cli("base", "param").stdout, "metrics")
    shown = {line.split()[0] for line in table[2:]}
    assert shown == {k for k in a if a[k] != b[k]}, "text lists only the differing metrics"
    n_a, n_b = a["total_trades"], b["total_trades"]
    total = next(line.split() for line in table if line.split()[0] == "total_trades")
    assert total == ["total_trades", f"{n_a:,}", f"{n_b:,}", f"{n_b - n_a:+,}", f"{(n_b - n_a) / n_a:+.2%}"]
    net = next(line.split() for line in table if line.split()[0] == "profit_net")
    assert [float(cell.replace(",", "")) for cell in net[1:4]] == pytest.approx(
        [a["profit_net"], b["profit_net"], b["profit_net"] - a["profit_net"]]
    )


def test_deltas_are_free_of_float_noise() -> None:
    # -26.4 - -26.37 is -0.030000000000001137 in floats; the runs wrote two decimals.
    assert MetricRow("avg_trade_pnl", -26.37, -26.4).delta == -0.03
    assert MetricRow("win_rate", 0.5, 0.501961).delta == 0.001961
    assert MetricRow("total_trades", 255, 225).delta == -30
    assert MetricRow("sharpe_trade_r", "n/a", 0.4).delta is None
    assert MetricRow("sharpe_trade_r", "n/a", 0.4).cells() == ("sharpe_trade_r", "n/a", "0.4", "n/a", "n/a")
    assert MetricRow("profit_net", -6724.03, -5693.1).cells() == (
        "profit_net",
        "-6,724.03",
        "-5,693.10",
        "+1,030.93",
        "+15.33%",
    )
    assert MetricRow("fees_total", 0.0, 12.5).rel_change is None


def test_first_divergent_trade_matches_the_trade_lists(var: Path) -> None:
    trades_a = read_json(run_dir(var, "base") / "trades.json")
    trades_b = read_json(run_dir(var, "param") / "trades.json")
    index = first_differing(trades_a, trades_b)
    assert index > 0, "the chosen parameter keeps the first trades; an index of 0 would test less"
    diff = diff_runs("base", "param", var_dir=var)
    got = diff.to_dict()["trades"]
    assert got["count"] == {"a": len(trades_a), "b": len(trades_b)}
    assert got["first_divergence"]["index"] == index
    assert got["first_divergence"]["a"] == trades_a[index] and got["first_divergence"]["b"] == trades_b[index]
    top_level = {k for k in trades_a[index] if trades_a[index][k] != trades_b[index][k]}
    assert {f.split(".")[0] for f in got["first_divergence"]["fields"]} == top_level

    lines = section(diff.render(), "trades")
    assert lines[0].startswith(f"trades    first divergence at index {index} ")
    marked = {line.split()[1] for line in lines[2:] if line.split()[0] == "*"}
    assert marked == set(got["first_divergence"]["fields"])
    entry = next(line.split() for line in lines if line.split()[1:2] == ["entry_time"])
    assert entry[-2:] == [trades_a[index]["entry_time"], trades_b[index]["entry_time"]]


def test_equity_curves_part_where_the_files_say(var: Path) -> None:
    rows_a = equity_rows(run_dir(var, "base") / "equity.csv")
    rows_b = equity_rows(run_dir(var, "param") / "equity.csv")
    assert [r["timestamp_ns"] for r in rows_a] == [r["timestamp_ns"] for r in rows_b]
    at = first_differing([r["equity"] for r in rows_a], [r["equity"] for r in rows_b])
    gaps = [abs(float(b["equity"]) - float(a["equity"])) for a, b in zip(rows_a, rows_b, strict=True)]
    widest = max(range(len(gaps)), key=gaps.__getitem__)
    got = diff_runs("base", "param", var_dir=var).to_dict()["equity"]
    assert got["first_divergence"] == {
        "timestamp": rows_a[at]["timestamp"],
        "timestamp_ns": int(rows_a[at]["timestamp_ns"]),
        "a": float(rows_a[at]["equity"]),
        "b": float(rows_b[at]["equity"]),
    }
    assert got["max_abs_diff"] == pytest.approx(gaps[widest])
    assert got["max_abs_diff_at"]["timestamp"] == rows_a[widest]["timestamp"]
    assert got["a"] == got["b"] == {"mode": "bar", "source": "config.json", "rows": len(rows_a)}


def test_a_config_change_without_effect_on_results_exits_0(var: Path, cli: Any) -> None:
    proc = cli("base", "no-effect")
    assert proc.returncode == 0, proc.stderr
    assert "  strategy_parameters.tp_min_distance  differs" in section(proc.stdout, "config")
    assert "results identical" in proc.stdout


# --------------------------------------------------------------------------------------
# Runs without config.json


def test_without_config_json_the_hash_and_meta_fields_are_compared(var: Path, tmp_path: Path) -> None:
    a, b = copy_run(var, "base", tmp_path / "a"), copy_run(var, "week", tmp_path / "b")
    (a / "config.json").unlink()
    diff = diff_runs(a, b, show_values=True)
    config = diff.to_dict()["config"]
    assert config["field_level"] is False and config["without_config_json"] == ["A"]
    hashes = [read_json(p / "meta.json")["config"]["hash"] for p in (a, b)]
    assert config["hash"] == {"a": hashes[0], "b": hashes[1]}
    assert config["fields"] == [
        {"path": "config.end_date", "change": "changed", "values_shown": True, "a": "2025-01-31", "b": "2025-01-10"}
    ]
    lines = section(diff.render(), "config")
    assert "field-level diff needs config.json in both run dirs (A without one);" in lines[-2]


# --------------------------------------------------------------------------------------
# (c) data manifest


def test_a_changed_data_file_hash_names_the_file_and_both_hashes(var: Path, tmp_path: Path, cli: Any) -> None:
    a, b = copy_run(var, "base", tmp_path / "a"), copy_run(var, "base", tmp_path / "b")
    meta = read_json(a / "meta.json")
    entry, new_sha, new_manifest = meta["dataset"]["files"][0], "ab" * 32, "cd" * 32

    def edit(m: dict[str, Any]) -> None:
        m["dataset"]["files"][0].update(sha256=new_sha, bytes=entry["bytes"] + 17)
        m["dataset"]["manifest_sha256"] = new_manifest
        m["dataset"]["governance"]["gaps"]["missing_bars"] += 12

    edit_json(b / "meta.json", edit)
    proc = cli(str(a), str(b))
    assert proc.returncode == 0, "only meta.json differs: the results are identical"
    data = section(proc.stdout, "data")
    assert data[0] == f"data      manifest {meta['dataset']['manifest_sha256'][:12]} -> {new_manifest[:12]}"
    assert (
        f"  data file {entry['name']} changed: sha256 {entry['sha256'][:12]}, {entry['bytes']:,} bytes"
        f" -> sha256 {new_sha[:12]}, {entry['bytes'] + 17:,} bytes"
    ) in data
    missing = meta["dataset"]["governance"]["gaps"]["missing_bars"]
    assert f"  governance gaps.missing_bars {missing} -> {missing + 12}" in data
    assert len(data) == 3, "the other file and the spec files are unchanged"

    files = diff_runs(a, b).to_dict()["data"]["files"]
    assert [(f["name"], f["change"], f["a"]["sha256"], f["b"]["sha256"]) for f in files] == [
        (entry["name"], "changed", entry["sha256"], new_sha)
    ]


def test_added_removed_and_moved_files(var: Path, tmp_path: Path) -> None:
    a, b = copy_run(var, "base", tmp_path / "a"), copy_run(var, "base", tmp_path / "b")
    meta = read_json(a / "meta.json")
    bid, ask = meta["dataset"]["files"]
    spec = meta["dataset"]["specs"][0]
    extra = {
        "path": "/data/EURUSD/EURUSD_H1_BID.parquet",
        "name": "EURUSD_H1_BID.parquet",
        "bytes": 10,
        "sha256": "e" * 64,
    }

    def edit(m: dict[str, Any]) -> None:
        m["dataset"]["files"] = [{**bid, "path": "/elsewhere/" + bid["name"]}]  # ask removed, bid moved
        m["dataset"]["additional_timeframes"] = [{"timeframe": "H1", "bars": 1, "files": [extra], "governance": {}}]
        m["dataset"]["specs"][0]["sha256"] = "f" * 64

    edit_json(b / "meta.json", edit)
    files = {f["name"]: f["change"] for f in diff_runs(a, b).to_dict()["data"]["files"]}
    assert files == {bid["name"]: "moved", ask["name"]: "removed", extra["name"]: "added", spec["name"]: "changed"}


def test_runs_whose_files_only_moved_say_so(var: Path, tmp_path: Path, cli: Any) -> None:
    a, b = copy_run(var, "base", tmp_path / "a"), copy_run(var, "base", tmp_path / "b")
    bid, ask = read_json(a / "meta.json")["dataset"]["files"]

    def edit(m: dict[str, Any]) -> None:
        m["dataset"]["files"] = [{**f, "path": "/elsewhere/" + f["name"]} for f in (bid, ask)]

    edit_json(b / "meta.json", edit)
    proc = cli(str(a), str(b))
    assert proc.returncode == 0, "the results are identical"
    data = section(proc.stdout, "data")
    assert data[0].endswith("; 2 file location(s) (same sha256) differ"), data
    assert f"  data file {bid['name']} moved (same sha256): {bid['path']} -> /elsewhere/{bid['name']}" in data


# --------------------------------------------------------------------------------------
# Trades: one list a prefix of the other


def test_a_shorter_trade_list_with_the_same_start(var: Path, tmp_path: Path) -> None:
    a, b = copy_run(var, "base", tmp_path / "a"), copy_run(var, "base", tmp_path / "b")
    trades = read_json(a / "trades.json")
    keep = len(trades) // 2
    (b / "trades.json").write_text(json.dumps(trades[:keep]), encoding="utf-8")
    diff = diff_runs(a, b)
    assert section(diff.render(), "trades")[0] == (
        f"trades    A has {len(trades):,} trades, B has {keep:,}; first {keep:,} identical"
    )
    first = diff.to_dict()["trades"]["first_divergence"]
    assert first["index"] == keep and first["a"] == trades[keep] and first["b"] is None
    assert diff.differing_artefacts == ("trades.json",)


def test_the_same_trades_in_another_json_layout_are_identical_trades(var: Path, tmp_path: Path) -> None:
    a, b = copy_run(var, "base", tmp_path / "a"), copy_run(var, "base", tmp_path / "b")
    trades = read_json(a / "trades.json")
    (b / "trades.json").write_text(json.dumps(trades, indent=2), encoding="utf-8")
    diff = diff_runs(a, b)
    assert diff.differing_artefacts == ("trades.json",), "the bytes differ"
    assert section(diff.render(), "trades") == [f"trades    identical ({len(trades):,} trades)"], "the trades do not"


# --------------------------------------------------------------------------------------
# Equity granularities


def test_daily_curves_are_compared_day_by_day(var: Path, tmp_path: Path) -> None:
    a, b = copy_run(var, "base", tmp_path / "a"), copy_run(var, "param", tmp_path / "b")
    make_daily(a)
    make_daily(b, record_in_config=False)  # B's granularity has to be inferred
    rows_a, rows_b = equity_rows(a / "equity.csv"), equity_rows(b / "equity.csv")
    assert 1 < len(rows_a) < read_json(a / "meta.json")["dataset"]["bars"]
    at = first_differing([r["equity"] for r in rows_a], [r["equity"] for r in rows_b])
    got = diff_runs(a, b).to_dict()["equity"]
    assert got["a"] == {"mode": "daily", "source": "config.json", "rows": len(rows_a)}
    assert got["b"] == {"mode": "daily", "source": "inferred", "rows": len(rows_b)}
    assert got["first_divergence"]["timestamp"] == rows_a[at]["timestamp"]
    assert got["compared_rows"] == len(rows_a)


def test_per_bar_against_daily_compares_the_common_timestamps(var: Path, tmp_path: Path) -> None:
    a, b = copy_run(var, "base", tmp_path / "a"), copy_run(var, "base", tmp_path / "b")
    make_daily(b)
    diff = diff_runs(a, b)
    got = diff.to_dict()["equity"]
    days = len(equity_rows(b / "equity.csv"))
    assert got["compared_rows"] == days and got["first_divergence"] is None and got["max_abs_diff"] == 0
    assert not diff.identical and diff.differing_artefacts == ("equity.csv",)
    assert f"compared on the {days:,} timestamps both curves hold" in "\n".join(section(diff.render(), "equity"))


def test_a_differing_balance_column_with_identical_equity_is_named(var: Path, tmp_path: Path) -> None:
    a, b = copy_run(var, "base", tmp_path / "a"), copy_run(var, "base", tmp_path / "b")
    lines = (b / "equity.csv").read_text(encoding="utf-8").splitlines()
    timestamp, ns, equity, balance, *rest = lines[100].split(",")
    lines[100] = ",".join([timestamp, ns, equity, repr(float(balance) + 1.0), *rest])
    (b / "equity.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    diff = diff_runs(a, b)
    assert (
        diff.to_dict()["equity"]["other_column"] == "balance" and diff.to_dict()["equity"]["first_divergence"] is None
    )
    assert section(diff.render(), "equity")[0].startswith(
        f"equity    equity identical on {len(lines) - 1:,} common rows; the balance column differs"
    )


def test_runs_without_equity_csv(var: Path, tmp_path: Path) -> None:
    a, b = copy_run(var, "base", tmp_path / "a"), copy_run(var, "base", tmp_path / "b")
    (b / "equity.csv").unlink()
    diff = diff_runs(a, b)
    assert not diff.identical and diff.to_dict()["equity"]["b"] == {"mode": "none", "source": "inferred", "rows": 0}
    assert section(diff.render(), "equity")[0].startswith("equity    not comparable: ")
    (a / "equity.csv").unlink()
    diff = diff_runs(a, b)
    assert diff.identical and section(diff.render(), "equity")[0].startswith("equity    none in either run")


# --------------------------------------------------------------------------------------
# (d) missing or unreadable runs


def assert_exit_2(proc: Any, *needles: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    message = proc.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message and "Traceback" not in proc.stderr
    assert proc.stdout == ""
    for needle in needles:
        assert needle in message


def test_a_missing_run_exits_2_naming_it(cli: Any) -> None:
    assert_exit_2(cli("base", "no-such-run"), "`no-such-run`")
    assert_exit_2(cli("no-such-run", "base"), "`no-such-run`")


def test_an_incomplete_or_corrupt_run_exits_2_naming_the_file(var: Path, tmp_path: Path, cli: Any) -> None:
    incomplete = copy_run(var, "base", tmp_path / "incomplete")
    (incomplete / "trades.json").unlink()
    assert_exit_2(cli("base", str(incomplete)), "trades.json is missing", str(incomplete))
    corrupt = copy_run(var, "base", tmp_path / "corrupt")
    (corrupt / "metrics.json").write_text('{"metrics": ', encoding="utf-8")
    assert_exit_2(cli(str(corrupt), "base"), f"{corrupt / 'metrics.json'} is not valid JSON")
    with pytest.raises(UnreadableRunError, match=r"trades\.json is missing"):
        diff_runs(incomplete, corrupt)


def test_a_corrupt_trade_line_or_equity_row_exits_2_naming_the_line(var: Path, tmp_path: Path, cli: Any) -> None:
    trades = copy_run(var, "base", tmp_path / "trades")
    lines = (trades / "trades.json").read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3][:40]  # the third trade, cut short
    (trades / "trades.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_exit_2(cli("base", str(trades)), f"{trades / 'trades.json'} line 4: expected one trade object per line")
    equity = copy_run(var, "base", tmp_path / "equity")
    lines = (equity / "equity.csv").read_text(encoding="utf-8").splitlines()
    lines[7] = lines[7].replace(",", ";", 1)
    (equity / "equity.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_exit_2(cli("param", str(equity)), f"{equity / 'equity.csv'} row 8: expected 6 columns with numbers")


# --------------------------------------------------------------------------------------
# (e) the seed is never printed


def test_the_seed_is_never_printed(var: Path, tmp_path: Path, cli: Any) -> None:
    for run_id, seed in (("prod-a", SEED_A), ("prod-b", SEED_B)):
        # The seeds are in the run dirs, so a diff that printed them would be caught.
        assert read_json(run_dir(var, run_id) / "meta.json")["seed"] == seed
        assert read_json(run_dir(var, run_id) / "config.json")["rng_seed"] == seed
    outputs = [cli("prod-a", "prod-b", *flags) for flags in ((), ("--show-values",), ("--json",))]
    a, b = copy_run(var, "prod-a", tmp_path / "a"), copy_run(var, "prod-b", tmp_path / "b")
    (a / "config.json").unlink()
    outputs += [cli(str(a), str(b), *flags) for flags in ((), ("--show-values",), ("--json",))]
    for proc in outputs:
        assert proc.returncode in (0, 1), proc.stderr
        for seed in (SEED_A, SEED_B):
            assert str(seed) not in proc.stdout + proc.stderr
    named = {i: [line.split() for line in section(outputs[i].stdout, "config")] for i in (1, 4)}
    assert ["rng_seed", "differs"] in named[1], "named, even with --show-values"
    assert ["seed", "differs"] in named[4], "from meta.json when a run has no config.json"
    fields = json.loads(outputs[2].stdout)["config"]["fields"]
    assert {"path": "rng_seed", "change": "changed", "values_shown": False} in fields


# --------------------------------------------------------------------------------------
# CLI wiring


def test_add_parser_registers_diff_with_its_handler(var: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["diff", "base", "param", "--var-dir", str(var), "--show-values"])
    assert args.handler is diff_handler and args.show_values and not args.json
    assert args.handler(args) == 1
    assert capsys.readouterr().out.startswith("A: base  (")
