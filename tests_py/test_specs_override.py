"""Execution costs and symbol specs ship as package defaults and can be replaced by env files;
the files used are hashed into the run's manifest."""

import hashlib
import json
from pathlib import Path

import pytest

import omega_v2
from omega_v2.paths import EXAMPLE_DATA_ROOT

PACKAGE_DATA = Path(omega_v2.__file__).parent / "data"


def _week() -> dict:
    cfg = omega_v2.load_config(omega_v2.example_config_path()).normalized
    cfg.update(start_date="2025-01-13", end_date="2025-01-17")
    return cfg


def test_execution_costs_override_changes_fees_and_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = omega_v2.run(_week(), data_root=EXAMPLE_DATA_ROOT, var_dir=tmp_path, run_id="default-costs")
    costs = json.loads((PACKAGE_DATA / "execution_costs.json").read_text())
    costs["symbols"]["EURUSD"] = {"fee_per_lot": 0.0, "slippage_fixed_pips": 0.0, "slippage_jitter_pips": 0.0}
    override = tmp_path / "costs.json"
    override.write_text(json.dumps(costs))
    monkeypatch.setenv("OMEGA_EXECUTION_COSTS_FILE", str(override))
    free = omega_v2.run(_week(), data_root=EXAMPLE_DATA_ROOT, var_dir=tmp_path, run_id="free-costs")

    assert default.metrics["fees_total"] > 0
    assert free.metrics["fees_total"] == 0
    assert free.metrics["total_trades"] > 0
    used = {s["name"]: s["sha256"] for s in free.meta["dataset"]["specs"]}
    assert used[str(override)] == hashlib.sha256(override.read_bytes()).hexdigest()
    assert free.meta["dataset"]["manifest_sha256"] != default.meta["dataset"]["manifest_sha256"]
    assert all(t["fees"] == 0 for t in free.trades_list)


def test_unreadable_override_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    week = _week()
    monkeypatch.setenv("OMEGA_EXECUTION_COSTS_FILE", str(tmp_path / "missing.json"))
    with pytest.raises(omega_v2.ConfigError, match="OMEGA_EXECUTION_COSTS_FILE") as err:
        omega_v2.run(week, data_root=EXAMPLE_DATA_ROOT, var_dir=tmp_path / "var", run_id="bad-costs")
    assert err.value.run_id == "bad-costs"
