"""`timeframes.additional` are loaded from their own files, validated and recorded."""

import shutil
from pathlib import Path

import pytest

import omega_v2
from omega_v2.paths import EXAMPLE_DATA_ROOT


def _config(additional: list[str]) -> dict:
    cfg = omega_v2.load_config(omega_v2.example_config_path()).normalized
    cfg.update(start_date="2025-01-13", end_date="2025-01-17", timeframes={"primary": "M5", "additional": additional})
    return cfg


def test_additional_timeframe_is_loaded_and_in_the_manifest(tmp_path: Path) -> None:
    base = omega_v2.run(_config([]), data_root=EXAMPLE_DATA_ROOT, var_dir=tmp_path, run_id="base")
    extra = omega_v2.run(_config(["M1"]), data_root=EXAMPLE_DATA_ROOT, var_dir=tmp_path, run_id="extra")
    (m1,) = extra.meta["dataset"]["additional_timeframes"]
    assert m1["timeframe"] == "M1"
    assert [f["name"] for f in m1["files"]] == ["EURUSD_M1_BID.parquet", "EURUSD_M1_ASK.parquet"]
    # 5 weekdays of M1 plus 500 warmup bars
    assert m1["bars"] == 5 * 1440 + 500
    assert extra.meta["dataset"]["manifest_sha256"] != base.meta["dataset"]["manifest_sha256"]
    # no implemented strategy reads them: results are the same
    assert (extra.run_dir / "trades.json").read_bytes() == (base.run_dir / "trades.json").read_bytes()


def test_missing_additional_files_fail_fast(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE_DATA_ROOT, data)
    for f in (data / "EURUSD").glob("EURUSD_M1_*"):
        f.unlink()
    with pytest.raises(omega_v2.DataError, match="EURUSD_M1_BID") as err:
        omega_v2.run(_config(["M1"]), data_root=data, var_dir=tmp_path / "var", run_id="missing-m1")
    assert err.value.run_id == "missing-m1"
    assert not (tmp_path / "var" / "results" / "backtests" / "missing-m1").exists()
