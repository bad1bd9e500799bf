"""`outputs.equity`: the rows of equity.csv (every bar, each UTC day's last bar, or no file),
with metrics always from the per-bar curve."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def runs(make_config: Any, omega_run: Any, example_data_root: Path) -> dict[str, Any]:
    return {
        mode: omega_run(make_config(outputs={"equity": mode}), data_root=example_data_root, run_id=f"eq-{mode}")
        for mode in ("bar", "daily", "none")
    }


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_daily_keeps_each_days_last_bar_row_unchanged(runs: dict[str, Any]) -> None:
    every_bar = rows(runs["bar"].run_dir / "equity.csv")
    assert runs["bar"].metrics["total_trades"] > 0
    last_of_day: dict[str, dict[str, str]] = {}
    for row in every_bar:
        last_of_day[row["timestamp"][:10]] = row  # rows are in time order
    assert rows(runs["daily"].run_dir / "equity.csv") == list(last_of_day.values())
    assert len(last_of_day) == runs["bar"].metrics["active_days"]


def test_none_writes_no_equity_and_metrics_never_change(runs: dict[str, Any]) -> None:
    assert not (runs["none"].run_dir / "equity.csv").exists()
    with pytest.raises(ValueError, match=r'outputs\.equity = "none"'):
        _ = runs["none"].equity
    metrics = {mode: (r.run_dir / "metrics.json").read_bytes() for mode, r in runs.items()}
    trades = {mode: (r.run_dir / "trades.json").read_bytes() for mode, r in runs.items()}
    assert len(set(metrics.values())) == 1 and len(set(trades.values())) == 1
    assert runs["daily"].equity.index.tz is not None


def test_config_json_is_the_normalised_config_the_run_had(runs: dict[str, Any], make_config: Any) -> None:
    import json

    import omega_v2

    loaded = omega_v2.load_config(make_config(outputs={"equity": "daily"}))
    assert (runs["daily"].run_dir / "config.json").read_text(encoding="utf-8") == loaded.canonical_json + "\n"
    assert json.loads(loaded.canonical_json)["outputs"] == {"equity": "daily"}
