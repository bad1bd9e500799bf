"""The bundled example through the public API: artefact shapes, RunResult,
determinism, run_id rules (8.1), output failures and atomic writes (6, 7, 10)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import stat
import subprocess
import textwrap
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

import omega_v2
from omega_v2 import ConfigError, DataError, OutputError
from omega_v2.runner import new_run_id

METRIC_KEYS = {
    "total_trades",
    "wins",
    "losses",
    "win_rate",
    "profit_gross",
    "fees_total",
    "profit_net",
    "max_drawdown",
    "max_drawdown_abs",
    "max_drawdown_duration_bars",
    "avg_r_multiple",
    "profit_factor",
    "avg_trade_pnl",
    "expectancy",
    "active_days",
    "trades_per_day",
    "sharpe_trade_r",
    "sortino_trade_r",
    "sharpe_equity_daily",
    "sortino_equity_daily",
}
DEFINITION_KEYS = {"unit", "description", "domain", "source", "type"}
ARTEFACTS = ("trades.json", "equity.csv", "metrics.json", "meta.json")
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
DEFAULT_RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}-[0-9a-f]{8}$")


def iso_to_ns(text: str) -> int:
    """Independent ISO-8601 (`...Z`, optional fraction) -> ns since epoch."""
    from datetime import datetime

    main, _, frac = text[:-1].partition(".")
    seconds = int(datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())
    return seconds * 1_000_000_000 + int((frac or "0").ljust(9, "0"))


def results_entries(var: Path) -> list[str]:
    """Names under `var/results/backtests` (hidden staging dirs included)."""
    base = var / "results" / "backtests"
    return sorted(p.name for p in base.iterdir()) if base.is_dir() else []


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> omega_v2.RunResult:
    var = tmp_path_factory.mktemp("e2e") / "var"
    return omega_v2.run(None, var_dir=var)


# --------------------------------------------------------------------------------------
# Artefact shapes


def test_artefacts_exist_utf8_with_final_newline(example: omega_v2.RunResult) -> None:
    for name in ARTEFACTS:
        raw = (example.run_dir / name).read_bytes()
        raw.decode("utf-8")  # strict
        assert raw.endswith(b"\n") and not raw.endswith(b"\n\n"), name
        assert b"\r" not in raw, name
    assert example.run_dir == example.paths.var_dir / "results" / "backtests" / example.run_id
    assert DEFAULT_RUN_ID.match(example.run_id)


def test_trades_shape_and_order(example: omega_v2.RunResult) -> None:
    trades = json.loads((example.run_dir / "trades.json").read_text(encoding="utf-8"))
    assert trades, "the example makes trades"
    exits = [t["exit_time_ns"] for t in trades]
    assert exits == sorted(exits)
    for t in trades:
        for key in ("entry_time", "exit_time"):
            assert ISO_Z.match(t[key]) and iso_to_ns(t[key]) == t[f"{key}_ns"]
        assert t["entry_time_ns"] <= t["exit_time_ns"]
        assert t["direction"] in {"long", "short"}
        assert t["reason"] in {"stop_loss", "take_profit", "timeout", "end_of_data", "signal"}
        assert t["symbol"] == "EURUSD"
        assert {"in_entry_candle", "stop_loss_kind"} <= set(t["meta"])
    m = example.metrics
    assert m["total_trades"] == len(trades)
    assert m["wins"] == sum(t["result"] - t["fees"] > 0 for t in trades)
    assert m["losses"] == sum(t["result"] - t["fees"] < 0 for t in trades)
    assert m["fees_total"] == pytest.approx(sum(t["fees"] for t in trades), abs=0.0051)
    assert m["profit_net"] == pytest.approx(sum(t["result"] - t["fees"] for t in trades), abs=0.0051)


def test_equity_has_one_row_per_bar(example: omega_v2.RunResult) -> None:
    text = (example.run_dir / "equity.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["timestamp", "timestamp_ns", "equity", "balance", "drawdown", "high_water"]
    body = rows[1:]
    meta = example.meta["dataset"]
    assert len(body) == meta["bars"] == example.summary.bars
    assert body[0][0] == meta["start_time"] and int(body[0][1]) == meta["start_time_ns"]
    assert body[-1][0] == meta["end_time"] and int(body[-1][1]) == meta["end_time_ns"]
    stamps = [int(r[1]) for r in body]
    assert stamps == sorted(set(stamps))
    for r in body[:50] + body[-50:]:
        assert iso_to_ns(r[0]) == int(r[1])
        equity, high_water, drawdown = float(r[2]), float(r[5]), float(r[4])
        assert high_water >= equity and drawdown == pytest.approx((high_water - equity) / high_water, abs=1e-12)


def test_metrics_json_has_every_key_with_a_definition(example: omega_v2.RunResult) -> None:
    doc = json.loads((example.run_dir / "metrics.json").read_text(encoding="utf-8"))
    assert set(doc) == {"metrics", "definitions"}
    assert set(doc["metrics"]) == METRIC_KEYS
    assert set(doc["definitions"]) == METRIC_KEYS
    for key, definition in doc["definitions"].items():
        assert set(definition) >= DEFINITION_KEYS, key
        assert all(isinstance(definition[k], str) and definition[k] for k in DEFINITION_KEYS), key
    for key in ("profit_net", "fees_total", "profit_gross", "max_drawdown_abs", "avg_trade_pnl"):
        assert round(doc["metrics"][key], 2) == doc["metrics"][key], key  # currency: 2 decimals
    for key in ("win_rate", "max_drawdown", "profit_factor"):
        assert round(doc["metrics"][key], 6) == doc["metrics"][key], key  # ratios: 6


def test_meta_json(example: omega_v2.RunResult) -> None:
    meta = example.meta
    loaded = omega_v2.load_config(omega_v2.example_config_path())
    assert meta["run_id"] == example.run_id
    assert meta["status"] == "success"
    assert ISO_Z.match(meta["generated_at"]) and iso_to_ns(meta["generated_at"]) == meta["generated_at_ns"]
    assert meta["engine"]["name"] == "omega_v2" and meta["engine"]["version"]
    assert meta["seed"] == 42
    assert meta["config"]["hash"] == loaded.config_hash
    assert meta["config"]["source"] == "example"
    assert example.run_id.split("-")[1] == loaded.config_hash[:8]
    d = meta["dataset"]
    assert (d["symbol"], d["timeframe"]) == ("EURUSD", "M5")
    assert re.fullmatch(r"[0-9a-f]{64}", d["manifest_sha256"])
    for f in d["files"]:  # the manifest's per-file digests, recomputed independently
        assert hashlib.sha256(Path(f["path"]).read_bytes()).hexdigest() == f["sha256"]
    assert {f["name"] for f in d["files"]} == {"EURUSD_M5_BID.parquet", "EURUSD_M5_ASK.parquet"}
    assert set(d["governance"]) == {"alignment", "gaps", "duplicates_dropped", "warmup_shortfall"}
    assert ISO_Z.match(d["start_time"]) and iso_to_ns(d["start_time"]) == d["start_time_ns"]
    assert meta["account"] == {"account_currency": "EUR", "initial_balance": 10000.0}


def test_meta_records_the_checkouts_commit(example: omega_v2.RunResult) -> None:
    """Run from a git checkout (an editable install), meta.json names its commit and whether
    tracked files were modified, as git itself reports them."""
    root = Path(omega_v2.__file__).resolve().parent.parent
    if not (root / ".git").exists() or shutil.which("git") is None:
        pytest.skip("omega_v2 is not running from a git checkout")

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout

    assert example.meta["git"] == {
        "commit": git("rev-parse", "HEAD").strip(),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no").strip()),
    }


# --------------------------------------------------------------------------------------
# RunResult


def test_run_result_api(example: omega_v2.RunResult) -> None:
    trades_json = json.loads((example.run_dir / "trades.json").read_text(encoding="utf-8"))
    trades = example.trades
    assert len(trades) == len(trades_json)
    assert {"entry_time", "exit_time", "direction", "result", "fees", "reason", "meta"} <= set(trades.columns)
    assert str(trades["exit_time"].dt.tz) == "UTC"
    equity = example.equity
    assert len(equity) == example.meta["dataset"]["bars"]
    assert list(equity.columns) == ["timestamp_ns", "equity", "balance", "drawdown", "high_water"]
    assert str(equity.index.tz) == "UTC"
    assert example.metrics == json.loads((example.run_dir / "metrics.json").read_text())["metrics"]
    assert example.meta == json.loads((example.run_dir / "meta.json").read_text())
    logs = example.logs()
    assert set(logs["source"]) == {"rust", "python"}
    assert list(logs["timestamp"]) == sorted(logs["timestamp"])
    html = example._repr_html_()
    assert example.run_id in html and "EURUSD" in html and "<table>" in html
    assert example.run_id in repr(example)


def test_summary_parts_print_their_fields(example: omega_v2.RunResult) -> None:
    """A notebook prints the seam's objects: every field by name and value, in declaration order."""
    summary = example.summary
    counters = repr(summary.counters)
    assert counters.startswith("Counters(bars_processed=")
    assert f"trades_emitted={summary.counters.trades_emitted}," in counters
    assert f"blocked_session={summary.counters.blocked_session}," in counters
    assert f"total_ns={summary.timings.total_ns})" in repr(summary.timings)
    assert f'run_dir="{summary.paths.run_dir}"' in repr(summary.paths)
    text = repr(summary)
    assert text.startswith(f'Summary(run_id="{example.run_id}", status="success", bars={summary.bars},')
    assert f'"total_trades":{example.metrics["total_trades"]}' in text
    assert "counters=" not in text and "paths=" not in text  # they print on their own


def test_load_run_by_id_and_by_dir(example: omega_v2.RunResult) -> None:
    by_id = omega_v2.load_run(example.run_id, var_dir=example.paths.var_dir)
    by_dir = omega_v2.load_run(example.run_dir)
    for again in (by_id, by_dir):
        assert again.run_dir == example.run_dir
        assert again.metrics == example.metrics
        assert again.run_id == example.run_id
    with pytest.raises(omega_v2.RunNotFound, match="no such run `no-such-run`") as info:
        omega_v2.load_run("no-such-run", var_dir=example.paths.var_dir)
    assert info.value.code == "run.not_found" and not isinstance(info.value, ConfigError)


# --------------------------------------------------------------------------------------
# Determinism


def test_determinism_in_process_and_fresh_process(
    example: omega_v2.RunResult, omega_var_dir: Path, assert_same_artefacts: Any, run_python: Any
) -> None:
    second = omega_v2.run(None, var_dir=omega_var_dir, run_id="det-second")
    code = textwrap.dedent(
        f"""
        import omega_v2
        r = omega_v2.run(None, var_dir={str(omega_var_dir)!r}, run_id="det-fresh")
        print(r.run_dir)
        """
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    third = Path(proc.stdout.strip().splitlines()[-1])
    assert len({example.run_id, second.run_id, third.name}) == 3
    assert_same_artefacts(example, second)
    assert_same_artefacts(example, third)
    # meta differs only by run_id/generated_at (and nothing path-like: same var layout)
    metas = [json.loads((Path(r) / "meta.json").read_text()) for r in (second.run_dir, third)]
    for m in metas:
        for key in ("run_id", "generated_at", "generated_at_ns"):
            m.pop(key)
    assert metas[0] == metas[1]


def test_another_seed_changes_trades_through_slippage_jitter(
    make_config: Any, example_data_root: Path, omega_run: Any
) -> None:
    first = omega_run(make_config(rng_seed=42), data_root=example_data_root)
    same = omega_run(make_config(rng_seed=42), data_root=example_data_root)
    other = omega_run(make_config(rng_seed=7), data_root=example_data_root)
    assert first.meta["execution"]["costs_enabled"] is True and first.metrics["total_trades"] > 0
    base = (first.run_dir / "trades.json").read_bytes()
    assert (same.run_dir / "trades.json").read_bytes() == base
    assert (other.run_dir / "trades.json").read_bytes() != base
    assert other.meta["seed"] == 7


def test_costs_off_makes_the_seed_irrelevant(
    make_config: Any, example_data_root: Path, omega_run: Any, assert_same_artefacts: Any
) -> None:
    off = {"costs": {"enabled": False}}
    a = omega_run(make_config(off, rng_seed=1), data_root=example_data_root)
    b = omega_run(make_config(off, rng_seed=2), data_root=example_data_root)
    assert_same_artefacts(a, b)
    assert a.metrics["fees_total"] == 0.0


# --------------------------------------------------------------------------------------
# run_id


BAD_RUN_IDS = ["../x", "a/b", ".hidden", "a" * 129, "a..b", "", "-x", "a b", "x\\y"]


@pytest.mark.parametrize("run_id", BAD_RUN_IDS)
def test_bad_run_id_is_rejected_before_any_file(tmp_path: Path, run_id: str) -> None:
    var = tmp_path / "var"
    with pytest.raises(ConfigError) as info:
        omega_v2.run(None, var_dir=var, run_id=run_id)
    assert info.value.code == "config.run_id"
    assert info.value.context.get("field") == "run_id"
    assert not var.exists()
    assert list(tmp_path.iterdir()) == []


def test_run_id_with_trailing_newline_is_rejected_before_any_file(tmp_path: Path) -> None:
    var = tmp_path / "var"
    with pytest.raises(ConfigError):
        omega_v2.run(None, var_dir=var, run_id="ok\n")
    assert not var.exists()


def test_longest_valid_run_id_is_accepted(omega_var_dir: Path) -> None:
    run_id = "A" + "b._-9" * 25 + "zz"  # 128 characters, no `..`
    assert len(run_id) == 128
    assert omega_v2.run(None, var_dir=omega_var_dir, run_id=run_id).run_id == run_id


def test_default_run_id_format() -> None:
    config_hash = "3a0be012" + "f" * 56
    run_id = new_run_id(config_hash)
    assert DEFAULT_RUN_ID.match(run_id) and run_id.split("-")[1] == "3a0be012"


def test_default_run_ids_are_unique_within_one_second() -> None:
    config_hash = "0" * 64
    ids = [new_run_id(config_hash) for _ in range(3000)]
    assert len(set(ids)) == len(ids)


def test_existing_run_id_is_an_output_error_and_keeps_the_first_run(omega_var_dir: Path, files_under: Any) -> None:
    first = omega_v2.run(None, var_dir=omega_var_dir, run_id="taken")
    before = files_under(first.run_dir)
    with pytest.raises(OutputError) as info:
        omega_v2.run(None, var_dir=omega_var_dir, run_id="taken")
    assert (info.value.run_id, info.value.code) == ("taken", "output.exists")
    assert "run_id `taken` is already used" in str(info.value)
    assert files_under(first.run_dir) == before
    assert results_entries(omega_var_dir) == ["taken"]  # no staging left


def test_existing_run_id_does_not_touch_the_first_runs_logs(omega_var_dir: Path, files_under: Any) -> None:
    omega_v2.run(None, var_dir=omega_var_dir, run_id="taken-logs")
    before = files_under(omega_var_dir / "logs")
    with pytest.raises(OutputError):
        omega_v2.run(None, var_dir=omega_var_dir, run_id="taken-logs")
    assert files_under(omega_var_dir / "logs") == before


# --------------------------------------------------------------------------------------
# Failures


def test_missing_data_root_is_a_data_error_naming_the_file(tmp_path: Path, make_config: Any) -> None:
    var, missing = tmp_path / "var", tmp_path / "no-data"
    with pytest.raises(DataError) as info:
        omega_v2.run(make_config(), data_root=missing, var_dir=var, run_id="no-data-run")
    err = info.value
    assert err.run_id == "no-data-run"
    assert err.code.startswith("data.")
    expected = missing / "EURUSD" / "EURUSD_M5_BID"
    assert f"{expected}.parquet" in str(err) or f"{expected}.csv" in str(err)
    assert results_entries(var) == []  # neither the run dir nor a `.partial` staging dir
    # its logs say why
    assert "no-data-run" in (var / "logs" / "no-data-run.python.log").read_text()
    assert '"run failed"' in (var / "logs" / "no-data-run.jsonl").read_text()
    assert pickle.loads(pickle.dumps(err)).context == err.context


@pytest.mark.parametrize("env", ["OMEGA_DATA_ROOT", "OMEGA_DATA_PARQUET_ROOT", None])
def test_data_root_from_env_or_cwd_data(
    env: str | None,
    make_config: Any,
    example_data_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    assert_same_artefacts: Any,
    omega_run: Any,
) -> None:
    """The data root: argument, else OMEGA_DATA_ROOT / OMEGA_DATA_PARQUET_ROOT, else ./data."""
    for name in ("OMEGA_DATA_ROOT", "OMEGA_DATA_PARQUET_ROOT"):
        monkeypatch.delenv(name, raising=False)
    if env:
        monkeypatch.setenv(env, str(example_data_root))
    else:
        (tmp_path / "data").symlink_to(example_data_root, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    result = omega_v2.run(make_config(), var_dir=tmp_path / "var", run_id="env-root")
    assert_same_artefacts(omega_run(make_config(), data_root=example_data_root), result)


def _blocked_results(var: Path) -> tuple[Path, str]:
    """Makes `var/results/backtests` unusable: read-only when that works (non-root), else a
    regular file sits where the directory must be. Returns the blocked path and the mode."""
    backtests = var / "results" / "backtests"
    backtests.mkdir(parents=True)
    backtests.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    if not os.access(backtests, os.W_OK):
        return backtests, "read-only"
    backtests.chmod(0o755)  # root ignores the mode: block with a file instead
    backtests.rmdir()
    backtests.write_text("not a directory\n")
    return backtests, "file"


def test_unwritable_results_dir_is_an_output_error_naming_the_path(tmp_path: Path) -> None:
    var = tmp_path / "var"
    blocked, mode = _blocked_results(var)
    try:
        with pytest.raises(OutputError) as info:
            omega_v2.run(None, var_dir=var, run_id="blocked")
        assert str(blocked) in str(info.value), mode
        assert info.value.run_id == "blocked"
        assert not (blocked / "blocked").exists()
        if mode == "read-only":
            assert results_entries(var) == []
    finally:
        if blocked.is_dir():
            blocked.chmod(0o755)


def test_var_dir_under_a_regular_file_is_an_output_error(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x\n")
    with pytest.raises(OutputError) as info:
        omega_v2.run(None, var_dir=afile / "var", run_id="under-file")
    assert str(afile) in str(info.value)


def test_disk_full_mid_write_leaves_nothing_half_written(tmp_path: Path, run_python: Any) -> None:
    """RLIMIT_FSIZE makes any write past 100 kB fail (EFBIG) like a full disk: equity.csv of the
    example (5,760 rows, ~640 kB) fails mid-file; trades.json and the logs stay below the limit."""
    var = tmp_path / "var"
    code = textwrap.dedent(
        f"""
        import resource, signal, omega_v2
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        try:
            omega_v2.run(None, var_dir={str(var)!r}, run_id="full-disk")
        except omega_v2.OutputError as e:
            print("OutputError", e.code, e.context.get("file"), sep="|")
        """
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    kind, code_, file = proc.stdout.strip().splitlines()[-1].split("|")
    assert kind == "OutputError" and code_.startswith("output.")
    assert file.endswith("equity.csv")
    assert results_entries(var) == []
    assert '"run failed"' in (var / "logs" / "full-disk.jsonl").read_text()
