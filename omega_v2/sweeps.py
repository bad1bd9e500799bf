"""Parameter sweeps: many runs of one base config over a grid, on any executor.

The default is a local process pool; any `concurrent.futures.Executor` works, including a
Dask distributed client's (`client.get_executor()`) for sweeps that outgrow one machine. Each
run keeps its own run_id, logs and artefacts; the summary ranks them.
"""

from __future__ import annotations

import copy
import csv
import itertools
import os
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from omega_v2 import _core, paths
from omega_v2.config import load_config
from omega_v2.errors import OmegaError
from omega_v2.progress import SweepProgress
from omega_v2.runner import config_or_example


def expand_grid(
    base: Mapping[str, Any], grid: Mapping[str, Iterable[Any]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(grid point, config) per combination; keys are dotted paths (`strategy_parameters.fast`)."""
    keys = list(grid)
    expanded = []
    for values in itertools.product(*(list(grid[k]) for k in keys)):
        point = dict(zip(keys, values, strict=True))
        cfg = copy.deepcopy(dict(base))
        for key, value in point.items():
            _set_path(cfg, key, value)
        expanded.append((point, cfg))
    return expanded


def _set_path(cfg: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = cfg
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _run_one(config: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Runs one grid point; failures become rows, never abort the sweep. Module level so a
    process pool (or Dask) can pickle it."""
    from omega_v2.runner import run

    try:
        result = run(config, **options)
    except OmegaError as e:
        return {"run_id": e.run_id, "status": "failed", "error": f"{e.code}: {e}"}
    row: dict[str, Any] = {"run_id": result.run_id, "status": "success", "error": ""}
    row.update({k: result.metrics.get(k) for k in _core.HEADLINE_METRICS})
    row["run_dir"] = str(result.run_dir)
    return row


def sweep(
    base_config: Any,
    grid: Mapping[str, Iterable[Any]],
    *,
    executor: Executor | None = None,
    data_root: str | os.PathLike[str] | None = None,
    var_dir: str | os.PathLike[str] | None = None,
    rank_by: str = "profit_net",
    progress: bool = True,
) -> Any:
    """Runs every grid point of `base_config` and returns the ranked summary.

    Returns a pandas DataFrame when pandas is installed (else a list of dicts); the summary is
    also written to `<var>/results/sweeps/<sweep_id>.csv`.
    """
    loaded = load_config(config_or_example(base_config))
    expanded = expand_grid(loaded.normalized, grid)
    for _, cfg in expanded:
        load_config(cfg)  # fail fast on a bad grid value, before any run starts
    var = paths.var_dir(var_dir).resolve()
    root = paths.data_root(data_root, example=loaded.source == "example").resolve()
    options = {"data_root": str(root), "var_dir": str(var)}
    own = executor is None
    pool = executor or ProcessPoolExecutor(max_workers=min(len(expanded), os.cpu_count() or 1))
    try:
        futures: dict[Future[dict[str, Any]], dict[str, Any]] = {
            pool.submit(_run_one, cfg, options): point for point, cfg in expanded
        }
        rows = []
        with SweepProgress(len(futures), enabled=progress) as bar:
            for future in as_completed(futures):
                row = {**futures[future], **future.result()}
                rows.append(row)
                bar.update(row["status"])
    finally:
        if own:
            pool.shutdown()
    rows.sort(key=lambda r: _rank_key(r, rank_by))
    _write_summary(
        var / "results" / "sweeps" / f"sweep-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}.csv", rows
    )
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows)


def _rank_key(row: dict[str, Any], rank_by: str) -> tuple[bool, float]:
    """Successful runs first, best `rank_by` first; missing or "n/a" values last."""
    value = row.get(rank_by)
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return (row["status"] != "success" or not numeric, -value if numeric else 0.0)


def _write_summary(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = list(dict.fromkeys(k for row in rows for k in row))
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
