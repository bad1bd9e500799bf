"""A run's files from a worker to where they are kept: byte for byte, complete or not at all, never
over an existing run; into the client's var dir, a shared directory, or an fsspec store."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import omega_v2 as om
from omega_v2.errors import Code
from omega_v2.sweeps import sweep, transfer

GRID = {"strategy_parameters.z_score_long": [-2.0, -2.5]}


@pytest.fixture(scope="module")
def profiled(make_config: Any, tmp_path_factory: pytest.TempPathFactory) -> om.RunResult:
    """A profiled run: its directory has a `profiling/` subdirectory."""
    var = tmp_path_factory.mktemp("source") / "var"
    result = om.run(make_config(end_date="2025-01-10"), data_root=om.paths.EXAMPLE_DATA_ROOT, var_dir=var, profile=True)
    assert (result.run_dir / "profiling").is_dir()
    return result


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_bundle_arrives_byte_for_byte(profiled: om.RunResult, tmp_path: Path) -> None:
    bundle = transfer.collect(profiled.paths.var_dir, profiled.run_id)
    run_dir = transfer.commit(bundle, tmp_path / "client")
    assert run_dir == tmp_path / "client" / "results" / "backtests" / profiled.run_id
    assert _files(run_dir) == _files(profiled.run_dir) and any(k.startswith("profiling/") for k in _files(run_dir))
    for log in (profiled.paths.text_log, profiled.paths.json_log, profiled.paths.python_log):
        assert (tmp_path / "client" / "logs" / log.name).read_bytes() == log.read_bytes()
    assert not [p for p in (tmp_path / "client").rglob(".*")]  # no staging or temporary file left


def test_a_failed_transfer_leaves_no_run(
    profiled: om.RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = transfer.collect(profiled.paths.var_dir, profiled.run_id)
    real = transfer._write_durably
    written: list[Path] = []

    def full_disk_after_five_files(path: Path, data: bytes) -> None:
        if len(written) == 5:  # the three logs, then two of the run's files
            raise OSError(28, "No space left on device", str(path))
        written.append(path)
        real(path, data)

    monkeypatch.setattr(transfer, "_write_durably", full_disk_after_five_files)
    with pytest.raises(om.OutputError, match="No space left on device") as caught:
        transfer.commit(bundle, tmp_path / "client")
    assert caught.value.code == Code.OUTPUT_IO
    results = tmp_path / "client" / "results" / "backtests"
    assert list(results.iterdir()) == []  # neither the run nor its staging directory


def test_a_run_is_never_replaced(profiled: om.RunResult, tmp_path: Path) -> None:
    bundle = transfer.collect(profiled.paths.var_dir, profiled.run_id)
    run_dir = transfer.commit(bundle, tmp_path / "client")
    before = _files(run_dir)
    tampered = transfer.Bundle(bundle.run_id, {**bundle.run_files, "trades.json": b"[]"}, {})
    with pytest.raises(om.OutputError, match="already exists") as caught:
        transfer.commit(tampered, tmp_path / "client")
    assert caught.value.code == Code.OUTPUT_EXISTS and _files(run_dir) == before


def test_a_shared_directory_store_gets_the_runs_directly(make_config: Any, tmp_path: Path) -> None:
    shared, var = tmp_path / "shared", tmp_path / "var"
    with ThreadPoolExecutor(2) as pool:
        result = sweep(
            make_config(), GRID, executor=pool, data_root=om.paths.EXAMPLE_DATA_ROOT, var_dir=var, store=shared
        )
    for run_id, run_dir in zip(result.summary["run_id"], result.summary["run_dir"], strict=True):
        assert Path(run_dir) == shared / "results" / "backtests" / run_id
        assert om.load_run(run_dir).metrics["total_trades"] > 0
        assert (shared / "logs" / f"{run_id}.python.log").is_file()
    assert not (var / "results").exists() and (result.directory / "points.jsonl").is_file()


@pytest.fixture
def memory_store() -> Any:
    """An fsspec in-memory store (one per process, so threads share it), emptied afterwards."""
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    yield fs, "memory://omega-sweep-test"
    if fs.exists("/omega-sweep-test"):
        fs.rm("/omega-sweep-test", recursive=True)


def test_an_fsspec_store_gets_meta_json_last_and_is_reused_from(
    make_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_store: Any
) -> None:
    fs, url = memory_store
    order: list[str] = []
    real = transfer._put
    monkeypatch.setattr(transfer, "_put", lambda fs, path, data: (order.append(path), real(fs, path, data)))
    options: dict[str, Any] = {"data_root": om.paths.EXAMPLE_DATA_ROOT, "var_dir": tmp_path / "var", "store": url}
    with ThreadPoolExecutor(1) as pool:
        result = sweep(make_config(), GRID, executor=pool, progress=False, **options)
    for run_id, run_dir in zip(result.summary["run_id"], result.summary["run_dir"], strict=True):
        assert run_dir == f"{url}/results/backtests/{run_id}"
        names = {p.rsplit("/", 1)[1] for p in fs.ls(f"/omega-sweep-test/results/backtests/{run_id}", detail=False)}
        assert names == {"config.json", "equity.csv", "meta.json", "metrics.json", "trades.json"}
        mine = [p for p in order if run_id in p]
        assert len(mine) == 8 and mine[-1].endswith(f"{run_id}/meta.json")  # 3 logs, 5 run files, meta.json last
    assert not (tmp_path / "var" / "results").exists()
    again = sweep(make_config(), GRID, progress=False, **options)
    assert set(again.summary["status"]) == {"reused"}
