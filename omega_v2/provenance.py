"""What a finished run recorded about its inputs, and whether the inputs at hand are still those:
the base of replaying and explaining a run from its run_id.

A run directory keeps the normalised config it ran (`config.json`) and, in `meta.json`, the
sha256 of every data file and specs file it read (`dataset.files`, `dataset.specs`), or the
digests of in-memory frames, and the identity of a user strategy and of a signals frame. Data
files are checked here before anything runs: a changed file is named with both hashes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_v2 import paths, run_files
from omega_v2.errors import Code, ConfigError, DataError

#: Files of an in-memory frame carry this suffix in the manifest instead of a file extension.
FRAME_SUFFIX = ".frame"
_PACKAGED = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class RecordedRun:
    run_dir: Path
    meta: dict[str, Any]
    config_json: str

    @property
    def run_id(self) -> str:
        return self.meta["run_id"]

    @property
    def files(self) -> list[dict[str, Any]]:
        return self.meta["dataset"]["files"] + [
            f for tf in self.meta["dataset"].get("additional_timeframes", []) for f in tf["files"]
        ]

    @property
    def in_memory(self) -> bool:
        return any(f["name"].endswith(FRAME_SUFFIX) for f in self.files)

    @property
    def inputs(self) -> dict[str, Any]:
        return self.meta.get("inputs") or {}


def recorded(run: str | os.PathLike[str], var_dir: str | os.PathLike[str] | None = None) -> RecordedRun:
    """The record of a finished run (a run_id under the var dir, or its directory)."""
    run_dir = paths.resolve_run(run, paths.var_dir(var_dir))
    meta = run_files.read_json(run_dir / "meta.json")
    for dotted, expected in (("run_id", str), ("dataset.files", list), ("dataset.specs", list)):
        run_files.field(meta, run_dir / "meta.json", dotted, expected)
    config = run_dir / "config.json"
    if not config.is_file():
        raise ConfigError(
            f"run {meta['run_id']} has no config.json (it was made by an older omega-v2), so it cannot be rerun "
            "exactly; run its config file again instead",
            code=Code.CONFIG_FILE_NOT_FOUND,
            context={"file": str(config)},
        )
    text = run_files.read_bytes(config)
    run_files.parse_json(config, text)
    return RecordedRun(run_dir, meta, text.decode("utf-8").strip())


def recorded_config(run: RecordedRun) -> Any:
    """The run's `config.json`, validated like any config (a `LoadedConfig`), once it is known
    to be the config the run ran: its hash and seed must be the ones `meta.json` recorded, or an
    edited file would replay or explain another run under the original's name."""
    from omega_v2.config import config_hash, load_config

    path, meta_path = run.run_dir / "config.json", run.run_dir / "meta.json"
    recorded_hash = run_files.field(run.meta, meta_path, "config.hash", str)
    loaded = load_config(run_files.parse_json(path, run.config_json.encode("utf-8")))
    # A prod run without rng_seed drew one: config.json carries it, the hash was taken without it.
    hashes = {loaded.config_hash, config_hash({**loaded.model.model_dump(mode="json"), "rng_seed": None})}
    if recorded_hash not in hashes or loaded.normalized["rng_seed"] != run.meta.get("seed"):
        raise run_files.unreadable(
            path,
            f"is not the config run {run.run_id} ran (its hash or seed is not the one meta.json recorded: the "
            "file was edited); restore it, or run the edited config as a new run with `python -m omega_v2 run FILE`",
        )
    return loaded


def data_root(run: RecordedRun, override: str | os.PathLike[str] | None) -> Path:
    """Where the run's data files are now (`override`, else where the run read them), after
    checking each one and the specs files against the run's manifest. Nothing is read but the
    files' bytes."""
    files = [f for f in run.files if not f["name"].endswith(FRAME_SUFFIX)]
    symbol = run.meta["dataset"]["symbol"]
    root = Path(override) if override else (Path(files[0]["path"]).parent.parent if files else Path("."))
    for recorded_file in files:
        _check(root / symbol / recorded_file["name"], recorded_file["sha256"], "data file")
    for spec in run.meta["dataset"]["specs"]:
        name = spec["name"]
        path = _PACKAGED / Path(name).name if name.startswith("omega_v2/data/") else Path(name)
        _check(path, spec["sha256"], "specs file")
    return root


def _check(path: Path, expected: str, what: str) -> None:
    try:
        actual = _sha256(path)
    except OSError as e:
        raise DataError(
            f"{what} {path} of the run cannot be read: {e.strerror or e}; pass --data-root (data_root=) where the "
            "data is now",
            code=Code.DATA_MISSING_FILE,
            context={"file": str(path)},
        ) from None
    if actual != expected:
        raise DataError(
            f"{what} {path} changed since the run: sha256 {actual} now, {expected} in the run's manifest; "
            "nothing was run",
            code=Code.DATA_CHANGED,
            context={"file": str(path), "recorded_sha256": expected, "sha256": actual},
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_inputs(run: RecordedRun, *, data: Any = None, signals: Any = None, strategy: Any = None) -> None:
    """A run's in-memory inputs must be given again, and be the ones it recorded: the market's
    sides and the signals frame by sha256, a Python strategy by class and source."""
    check_strategy(run, strategy)
    _check_news_calendar(run)
    frames = _recorded_frames(run)
    recorded_signals = run.inputs.get("signals")
    _check_given(run, bool(frames), data, "data", "in-memory data (an omega_v2.Market)")
    _check_given(run, recorded_signals is not None, signals, "signals", "a signals frame")
    if not frames and not recorded_signals:
        return
    from omega_v2 import _core
    from omega_v2.market import Market
    from omega_v2.signals import Signals

    if frames and not isinstance(data, Market):
        raise ConfigError(
            f"data= must be an omega_v2.Market, not {type(data).__name__}",
            code=Code.CONFIG_DATA_MISMATCH,
            context={"field": "data"},
        )
    if recorded_signals and not isinstance(signals, Signals):
        signals = Signals(signals)
    now = _core.input_digests(market=data if frames else None, signals=signals if recorded_signals else None)
    expected = {**frames, **({"signals": recorded_signals["sha256"]} if recorded_signals else {})}
    for name, sha in expected.items():
        if now[name] != sha:
            what = "the signals frame" if name == "signals" else f"the {name} side of the market given as data="
            raise DataError(
                f"{what} is not the one run {run.run_id} traded: sha256 {now[name]} now, {sha} in its record; "
                "nothing was run",
                code=Code.DATA_CHANGED,
                context={
                    "field": "signals" if name == "signals" else "data",
                    "recorded_sha256": sha,
                    "sha256": now[name],
                },
            )


def _check_news_calendar(run: RecordedRun) -> None:
    """A run with the news filter read the calendar named by the environment: the rerun must
    find the same bytes there."""
    recorded_calendar = run.meta["dataset"].get("news_calendar")
    if recorded_calendar is None:
        return
    from omega_v2 import _core

    path = os.environ.get(_core.NEWS_CALENDAR_ENV)
    if not path:
        raise ConfigError(
            f"run {run.run_id} read the news calendar {recorded_calendar['name']}; set {_core.NEWS_CALENDAR_ENV} "
            "to that file to rerun it",
            code=Code.CONFIG_ENVIRONMENT,
            context={"field": "news_filter.enabled"},
        )
    _check(Path(path), recorded_calendar["sha256"], "news calendar")


def _recorded_frames(run: RecordedRun) -> dict[str, str]:
    """`{"bid": sha256, "ask": sha256}` of a run on an in-memory market, else empty."""
    frames = [f for f in run.files if f["name"].endswith(FRAME_SUFFIX)]
    return {f["name"].removesuffix(FRAME_SUFFIX).rsplit("_", 1)[1].lower(): f["sha256"] for f in frames}


def _check_given(run: RecordedRun, recorded: bool, given: Any, argument: str, what: str) -> None:
    if recorded and given is None:
        raise ConfigError(
            f"run {run.run_id} traded {what}; pass the same one as {argument}= "
            f"(from Python: omega_v2.replay or omega_v2.explain with {argument}=...)",
            code=Code.CONFIG_DATA_MISMATCH if argument == "data" else Code.CONFIG_STRATEGY,
            context={"field": argument},
        )
    if not recorded and given is not None:
        source = "its data files" if argument == "data" else "no signals frame"
        raise ConfigError(
            f"run {run.run_id} read {source}; drop {argument}=",
            code=Code.CONFIG_DATA_MISMATCH if argument == "data" else Code.CONFIG_STRATEGY,
            context={"field": argument},
        )


def check_strategy(run: RecordedRun, strategy: Any) -> None:
    """A run of a user strategy is rerun only with the same class and source."""
    recorded_identity = run.inputs.get("strategy")
    if recorded_identity is None:
        return
    if strategy is None:
        raise ConfigError(
            f"run {run.run_id} traded the Python strategy {recorded_identity['class']}; pass it as strategy= "
            "(from Python: omega_v2.replay or omega_v2.explain with strategy=...)",
            code=Code.CONFIG_STRATEGY,
            context={"field": "strategy"},
        )
    from omega_v2.strategy import identity, instantiate

    now = identity(instantiate(strategy))
    if now["sha256"] != recorded_identity["sha256"]:
        raise DataError(
            f"strategy {now['class']} is not the one the run traded: its {now['of']} sha256 is {now['sha256']}, the "
            f"run recorded {recorded_identity['sha256']} for {recorded_identity['class']}",
            code=Code.DATA_CHANGED,
            context={"field": "strategy"},
        )
