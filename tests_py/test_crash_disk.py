"""Disk faults under the var dir as they really happen: a real small tmpfs as the log volume and
as the whole var dir, full at 0 bytes or filling up at any point of a run; read-only
directories (a read-only mount as root, file modes otherwise); and a simulated full disk
(RLIMIT_FSIZE) where no tmpfs can be mounted. Every fault is an OutputError naming the path,
from the API and the CLI, and no run directory that says success is ever left."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import omega_v2
from omega_v2 import DataError, OutputError
from omega_v2.paths import EXAMPLE_DATA_ROOT

PAGE = os.sysconf("SC_PAGE_SIZE")


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def tmpfs() -> Iterator[Callable[[Path, int], Path]]:
    """`tmpfs(path, size)` mounts a fresh tmpfs of `size` bytes at `path` (created); unmounted
    after the test. Skips when this machine cannot mount one (not root, no mount)."""
    mounted: list[Path] = []

    def _tmpfs(path: Path, size: int) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        proc = _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or proc.returncode}); see the RLIMIT test")
        mounted.append(path)
        return path

    yield _tmpfs
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], str]]:
    """`read_only(dir)` makes an existing directory unwritable for this process: a read-only bind
    mount when running as root (file modes do not stop root), mode 0555 otherwise. Returns how."""
    undo: list[Callable[[], object]] = []

    def _read_only(path: Path) -> str:
        if os.geteuid() != 0:
            path.chmod(0o555)
            undo.append(lambda: path.chmod(0o755))
            return "mode 0555"
        if _mount("--bind", str(path), str(path)).returncode != 0:
            pytest.skip("running as root without the right to bind-mount: cannot make a directory read-only")
        undo.append(lambda: subprocess.run(["umount", "-l", str(path)], check=False))
        assert _mount("-o", "remount,bind,ro", str(path)).returncode == 0
        return "read-only mount"

    yield _read_only
    for step in reversed(undo):
        step()


def fill(volume: Path, free_pages: int) -> None:
    """Leaves exactly `free_pages` pages free on the tmpfs at `volume` (one filler file)."""
    filler = volume / "filler"
    filler.unlink(missing_ok=True)
    st = os.statvfs(volume)
    size = st.f_bavail * st.f_frsize - free_pages * PAGE
    assert size >= 0, f"the volume has fewer than {free_pages} pages"
    with open(filler, "wb") as f:
        f.write(b"\0" * size)
    st = os.statvfs(volume)
    assert st.f_bavail * st.f_frsize == free_pages * PAGE, f"{st.f_bavail} pages free, not {free_pages}"


def used_pages(files: list[Path]) -> int:
    return sum(-(-p.stat().st_size // PAGE) for p in files if p.is_file())


def run_entries(var: Path) -> list[str]:
    backtests = var / "results" / "backtests"
    return sorted(p.name for p in backtests.iterdir()) if backtests.exists() else []


def assert_complete(result: omega_v2.RunResult) -> None:
    """A run that succeeded: its directory says success and its three logs tell the whole story."""
    files = result.paths
    assert result.meta["status"] == "success"
    lines = files.json_log.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["message"] == "run finished"
    assert "run finished" in files.text_log.read_text(encoding="utf-8").splitlines()[-1]
    assert "run finished" in files.python_log.read_text(encoding="utf-8").splitlines()[-1]


# --------------------------------------------------------------------------------------
# A full log volume


API_AND_CLI = textwrap.dedent(
    """
    import json, sys, omega_v2
    from omega_v2.cli import main
    var = sys.argv[1]
    try:
        omega_v2.run(None, var_dir=var, run_id="api")
        print(json.dumps({"outcome": "success"}))
    except BaseException as e:
        print(json.dumps({"outcome": type(e).__name__, "code": getattr(e, "code", None),
                          "context": getattr(e, "context", None), "message": str(e)}))
    sys.stdout.flush()
    sys.exit(main(["run", "--var-dir", var, "--run-id", "cli", "--quiet"]))
    """
)


def run_api_and_cli(var: Path, preexec: Callable[[], None] | None = None) -> tuple[dict[str, Any], int, str]:
    """Runs the example through the API and then the CLI in one child; returns the API's outcome,
    the CLI's exit code and the child's stderr."""
    proc = subprocess.run(
        [sys.executable, "-c", API_AND_CLI, str(var)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec,
        check=False,
    )
    return json.loads(proc.stdout.splitlines()[0]), proc.returncode, proc.stderr


def assert_log_failure_reported(var: Path, api: dict[str, Any], code: int, stderr: str, reason: str) -> None:
    logs = var / "logs"
    assert (api["outcome"], api["code"]) == ("OutputError", "output.io"), api
    assert api["context"]["file"] == str(logs / "api.python.log") and api["context"]["file"] in api["message"]
    assert reason in api["message"]
    assert code == OutputError.exit_code
    assert stderr.startswith("error: ") and len(stderr.strip().splitlines()) == 1, stderr
    assert str(logs / "cli.python.log") in stderr and reason in stderr
    assert "Logging error" not in stderr and "Traceback" not in stderr
    assert run_entries(var) == []


def test_a_log_volume_at_zero_bytes_free(tmp_path: Path, tmpfs: Any) -> None:
    var = tmp_path / "var"
    fill(tmpfs(var / "logs", 16 * PAGE), 0)
    api, code, stderr = run_api_and_cli(var)
    assert_log_failure_reported(var, api, code, stderr, "No space left on device")


def test_a_full_disk_simulated_with_a_file_size_limit(tmp_path: Path) -> None:
    """Where no tmpfs can be mounted: RLIMIT_FSIZE 0 makes every write fail (EFBIG) as on a disk
    at 0 bytes free (CPython ignores SIGXFSZ, so the write returns the error)."""
    var = tmp_path / "var"
    api, code, stderr = run_api_and_cli(var, preexec=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0)))
    assert_log_failure_reported(var, api, code, stderr, "File too large")


def sweep_free_space(volume: Path, needed: int, run: Callable[[str], omega_v2.RunResult]) -> dict[int, Any]:
    """Runs `run(run_id)` with 0 .. needed+2 pages free on `volume` (around `needed`, the pages a
    whole run takes, densely); returns each outcome (a result or the error, which must be an
    OutputError naming a file)."""
    outcomes: dict[int, Any] = {}
    for free in sorted({0, 1, needed // 2, *range(max(0, needed - 8), needed + 3)}):
        fill(volume, free)
        try:
            outcomes[free] = run(f"free-{free}")
        except omega_v2.OmegaError as e:
            assert isinstance(e, OutputError) and "file" in e.context, f"{free} pages free: {e!r}"
            outcomes[free] = e
    return outcomes


def print_outcomes(outcomes: dict[int, Any]) -> None:
    """Which file each failed run stopped at, by free pages (shown with `pytest -s`)."""
    where = {f: Path(o.context["file"]).name if isinstance(o, OutputError) else "ok" for f, o in outcomes.items()}
    print("\n" + " ".join(f"{free}p:{name}" for free, name in where.items()))


def test_a_log_volume_filling_up_at_any_point_of_a_run(
    tmp_path: Path, tmpfs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DEBUG logs (~200 kB) cross page boundaries all through the run, so with one page too few
    the log fails wherever its last page is needed, up to the final flush before the commit."""
    monkeypatch.setenv("RUST_LOG", "debug")
    var = tmp_path / "var"
    logs = tmpfs(var / "logs", 1024 * PAGE)

    def run(run_id: str) -> omega_v2.RunResult:
        return omega_v2.run(None, var_dir=var, run_id=run_id)

    probe = run("probe")
    needed = used_pages([probe.paths.text_log, probe.paths.json_log, probe.paths.python_log])
    outcomes = sweep_free_space(logs, needed, run)
    print_outcomes(outcomes)
    for free, outcome in outcomes.items():
        if isinstance(outcome, OutputError):
            assert outcome.code == "output.io" and Path(outcome.context["file"]).parent == logs, outcome
            assert outcome.context["file"] in str(outcome)
            assert f"free-{free}" not in run_entries(var), "a run whose log failed is never committed"
        else:
            assert_complete(outcome)
    assert all(isinstance(outcomes[f], OutputError) for f in outcomes if f < needed - 2)
    assert all(not isinstance(outcomes[f], OutputError) for f in outcomes if f > needed + 1)
    assert not any(name.startswith(".") for name in run_entries(var))


def test_a_small_var_volume_fails_cleanly_wherever_it_fills(tmp_path: Path, tmpfs: Any) -> None:
    """var/ on one tmpfs, profiling on: the volume fills in the artefacts, the profile, the
    Python profile or the logs; each is an OutputError naming its path, and nothing is left."""
    var = tmpfs(tmp_path / "var", 2048 * PAGE)
    # The CPU profile's size follows its sample count; sampling at 10 Hz keeps it, and so the
    # pages a run needs, nearly the same from run to run.
    config = json.loads(omega_v2.example_config_path().read_text(encoding="utf-8"))
    config["observability"]["profiling_frequency_hz"] = 10

    def run(run_id: str) -> omega_v2.RunResult:
        return omega_v2.run(config, data_root=EXAMPLE_DATA_ROOT, var_dir=var, run_id=run_id, profile=True)

    needed = []
    for probe in ("probe-1", "probe-2", "probe-3"):  # the first run's Python profile also holds lazy imports
        assert_complete(run(probe))
        needed.append(used_pages(list(var.rglob("*"))))
        for entry in var.iterdir():  # an empty var dir again: the probe's pages back
            shutil.rmtree(entry)
    outcomes = sweep_free_space(var, max(needed[1:]), run)
    print_outcomes(outcomes)
    failures = {free: e for free, e in outcomes.items() if isinstance(e, OutputError)}
    for e in failures.values():
        assert e.code == "output.io" and e.context["file"].startswith(str(var)) and e.context["file"] in str(e)
    for free, outcome in outcomes.items():
        if free not in failures:
            assert_complete(outcome)
    assert run_entries(var) == sorted(f"free-{free}" for free in outcomes if free not in failures)
    assert len(failures) >= 3 and len(failures) < len(outcomes)


# --------------------------------------------------------------------------------------
# Read-only directories, found before any data is read


@pytest.fixture
def loud_data_root(tmp_path: Path) -> Path:
    """A data root whose files fail loudly when read (not parquet at all)."""
    root = tmp_path / "loud"
    (root / "EURUSD").mkdir(parents=True)
    for side in ("BID", "ASK"):
        (root / "EURUSD" / f"EURUSD_M5_{side}.parquet").write_bytes(b"not parquet\n")
    return root


@pytest.mark.parametrize("where", ["results", "logs"])
def test_a_read_only_output_dir_is_found_before_any_data_is_read(
    tmp_path: Path, make_config: Any, loud_data_root: Path, read_only: Any, where: str
) -> None:
    config = make_config()
    with pytest.raises(DataError):  # the data root does fail loudly when it is read
        omega_v2.run(config, data_root=loud_data_root, var_dir=tmp_path / "ok", run_id="loud")
    var = tmp_path / "var"
    blocked = var / ("results/backtests" if where == "results" else "logs")
    blocked.mkdir(parents=True)
    how = read_only(blocked)
    with pytest.raises(OutputError) as info:
        omega_v2.run(config, data_root=loud_data_root, var_dir=var, run_id="ro")
    e = info.value
    assert e.code == "output.io", (how, e)
    assert Path(e.context["file"]).parent == blocked and str(blocked) in str(e), (how, e)
    if where == "results":  # the logs say why, and the results stayed empty
        assert '"run failed"' in (var / "logs" / "ro.jsonl").read_text(encoding="utf-8")
        assert list(blocked.iterdir()) == []
