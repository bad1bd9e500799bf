"""One backtest run: the Python half of the seam.

Python validates the config, computes its hash, creates the run_id and the Python log, then
makes ONE call into the Rust engine (`_core.run`) with the canonical config JSON and the run
context; the engine releases the GIL for the whole run and writes artefacts and Rust logs.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omega_v2 import _core, paths
from omega_v2.config import LoadedConfig, allowlisted_fields, load_config
from omega_v2.errors import Code, OmegaError, OutputError
from omega_v2.inputs import engine_inputs
from omega_v2.interrupts import CancelOnSignals
from omega_v2.logs import python_level, run_log
from omega_v2.progress import RunProgressBar
from omega_v2.result import RunResult

if TYPE_CHECKING:
    import cProfile

CancelToken = _core.CancelToken
DataCache = _core.DataCache
#: `<UTC start>-<first 8 hex of config_hash>-<8 random hex>` (the engine's rule).
new_run_id = _core.new_run_id


def run(
    config: Any = None,
    *,
    data: Any = None,
    signals: Any = None,
    strategy: Any = None,
    data_root: str | os.PathLike[str] | None = None,
    run_id: str | None = None,
    profile: bool | None = None,
    var_dir: str | os.PathLike[str] | None = None,
    strict: bool = False,
    log_to_stdout: bool = False,
    cancel_token: CancelToken | None = None,
    progress: bool | None = None,
    data_cache: DataCache | None = None,
) -> RunResult:
    """Runs one backtest and returns its :class:`RunResult`.

    `config` is a dict, a path to a JSON file, a :class:`LoadedConfig`, or None for the bundled
    example (which then runs on the bundled dataset). `data` is an in-memory
    :class:`~omega_v2.Market` instead of data files; `signals` a signals frame (strategy_name
    `signals`); `strategy` an :class:`~omega_v2.Strategy` subclass or instance (strategy_name
    `python`). `profile=True` enables profiling mode.
    `cancel_token` (a :class:`CancelToken`) cancels a run running on another thread; on the main
    thread Ctrl-C and SIGTERM do too (they also cancel the token; see `docs/crash-safety.md`).
    `progress` shows a progress bar on stderr for runs longer than a second (None: on a
    terminal, in dev mode). `data_cache` (a :class:`DataCache`) lets runs that read the same
    data files for the same span load them once (see `docs/sweeps.md`). Raises a subclass of
    :class:`OmegaError` carrying the run_id.
    """
    if data_cache is not None and not isinstance(data_cache, DataCache):
        raise TypeError(f"data_cache must be an omega_v2.DataCache, not {type(data_cache).__name__}")
    _git_info.prefetch()
    # cProfile covers the whole Python side, config loading and validation included.
    profiler = _python_profiler() if _profiling_asked(config, profile) else None
    if profiler:
        profiler.enable()
    try:
        loaded = load_config(config_or_example(config), strict=strict)
        inputs = engine_inputs(loaded, data=data, signals=signals, strategy=strategy)
    except OmegaError as e:
        if profiler:
            profiler.disable()
        e.run_id = e.run_id or run_id  # a caller who named the run finds it in the error
        raise
    rid = run_id if run_id is not None else new_run_id(loaded.config_hash)
    var = paths.var_dir(var_dir)
    run_paths = paths.run_paths(var, rid)
    run_mode = loaded.model.run_mode
    show_progress = progress if progress is not None else run_mode == "dev"
    git = _git_info()
    token = cancel_token if cancel_token is not None else CancelToken()
    # Outermost: every cleanup below is done before the caller's signal handlers are back.
    with CancelOnSignals(token) as interrupts, run_log(run_paths.python_log, rid, python_level(run_mode)) as log:
        _core.reset_log_cache()
        log.logger.info(
            "run starting config_hash=%s %s", loaded.config_hash, _fields(allowlisted_fields(loaded.normalized))
        )
        for warning in loaded.warnings:
            log.logger.warning(warning)
        commit = _BeforeCommit(log, profiler, time.perf_counter())
        counter = _core.RunProgress()
        try:
            log.handler.check()  # a Python log that cannot be written fails the run before it starts
            with RunProgressBar(counter, enabled=show_progress):
                summary = _core.run(
                    loaded.canonical_json,
                    run_id=rid,
                    config_hash=loaded.config_hash,
                    config_source=loaded.source,
                    var_dir=var,
                    data_root=paths.data_root(data_root, example=loaded.source == "example"),
                    log_to_stdout=log_to_stdout,
                    rust_log=os.environ.get("RUST_LOG"),
                    profile=profiler is not None,
                    git_commit=git[0] if git else None,
                    git_dirty=git[1] if git else False,
                    cancel_token=token,
                    progress=counter,
                    before_commit=commit,
                    data_cache=data_cache,
                    **inputs,
                )
        except OmegaError as raised:
            error = interrupts.explain(raised)
            # dev keeps the traceback in the Python log; prod only the message.
            log.logger.error("run failed code=%s: %s", error.code, error, exc_info=run_mode == "dev")
            if error is raised:
                raise
            raise error from None
        finally:
            if profiler:
                profiler.disable()
    return RunResult(
        summary.paths.run_dir, summary=summary, inputs={"data": data, "signals": signals, "strategy": strategy}
    )


class _BeforeCommit:
    """The Python side's last step, run by the engine just before the run directory is
    committed: the Python profile goes into the staging directory and the Python log is known
    good, so a committed run never stands next to a log that failed."""

    def __init__(self, log: Any, profiler: cProfile.Profile | None, started: float) -> None:
        self.log, self.profiler, self.started = log, profiler, started

    def __call__(self, staging: Path, summary: Any) -> None:
        self.log.logger.info(
            "run finished run_dir=%s trades=%s wall_ms=%.3f",
            summary.paths.run_dir,
            summary.counters.trades_emitted,
            (time.perf_counter() - self.started) * 1e3,
        )
        if self.profiler:
            self.profiler.disable()
            _write_python_profile(self.profiler, Path(staging) / "profiling", summary.run_id)
        self.log.handler.sync()


def _python_profiler() -> cProfile.Profile:
    import cProfile  # profiling mode only: a plain run's process never imports it

    return cProfile.Profile()


def _profiling_asked(config: Any, profile: bool | None) -> bool:
    """`profile`, else the config's `observability.profiling_mode`, peeked at before the config
    is loaded (a config that cannot be read fails in the loader, with its error)."""
    if profile is not None:
        return profile
    model = getattr(config, "model", None)
    if model is not None:
        return bool(model.observability.profiling_mode)
    raw = config
    if isinstance(config, (str, os.PathLike)):
        try:
            raw = json.loads(Path(config).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
    section = raw.get("observability") if isinstance(raw, dict) else None
    return isinstance(section, dict) and section.get("profiling_mode") is True


def config_or_example(config: Any) -> Any:
    """`None` means the bundled example config."""
    if config is None:
        from omega_v2.config import example_config_path

        return example_config_path()
    return config


def _fields(values: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())


def _write_python_profile(profiler: cProfile.Profile, directory: Path, run_id: str) -> None:
    """cProfile of the Python layer: `python_profile.pstats` plus a top-20 text summary, into
    the (not yet committed) run directory; a file that cannot be written is an OutputError."""
    import pstats

    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(20)
    stats, summary = directory / "python_profile.pstats", directory / "python_profile.txt"
    for path, write in (
        (directory, lambda: directory.mkdir(parents=True, exist_ok=True)),
        (stats, lambda: profiler.dump_stats(stats)),
        (summary, lambda: summary.write_text(text.getvalue(), encoding="utf-8")),
    ):
        try:
            write()
        except OSError as e:
            raise OutputError(
                f"cannot write {path}: {e.strerror or e}; free space or fix permissions",
                run_id=run_id,
                code=Code.OUTPUT_IO,
                context={"file": str(path)},
            ) from None


class _GitLookup:
    """The commit of the source checkout omega_v2 runs from, when it is one (editable installs).

    Looked up once per process, on a thread the first run starts before it validates its
    config, so that the two git calls (5-10 ms) overlap that work; calling waits for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._value: tuple[str, bool] | None = None

    def prefetch(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._look_up, name="omega-v2-git", daemon=True)
                self._thread.start()

    def __call__(self) -> tuple[str, bool] | None:
        self.prefetch()
        assert self._thread is not None
        self._thread.join()
        return self._value

    def _look_up(self) -> None:
        self._value = _git_commit()


def _git_commit() -> tuple[str, bool] | None:
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit, bool(dirty)) if commit else None


_git_info = _GitLookup()


__all__ = ["CancelToken", "DataCache", "LoadedConfig", "new_run_id", "run"]
