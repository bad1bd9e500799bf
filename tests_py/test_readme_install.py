"""The README's first command works literally, as a newcomer runs it: from the root of a fresh
clone, in a new virtual environment, with nothing installed by hand.

The clone is of this repository's HEAD (what CI tests; uncommitted changes are not in it). The
one departure from a fresh machine is `CARGO_TARGET_DIR`, pointed at this checkout's `target/`
so the already compiled dependencies are reused and CI stays fast; the extension itself is built
from the clone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    """The command lines of the README's first `bash` block, comments removed."""
    block = re.search(r"```bash\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    assert block, "README.md must open with a bash block of the two newcomer commands"
    return [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_the_install_and_the_test_command() -> None:
    install, tests = readme_commands()[:2]
    assert install.endswith("python -m omega_v2 run")
    assert "nox -s tests" in tests
    assert "nox -s tests" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    if shutil.which("git") is None or shutil.which("cargo") is None:
        pytest.skip("needs git and cargo")
    work = tmp_path_factory.mktemp("newcomer")
    clone, venv = work / "omega-v2", work / "venv"
    subprocess.run(["git", "clone", "--quiet", f"file://{REPO}", str(clone)], check=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "OMEGA_", "RUST_LOG"))}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        CARGO_TARGET_DIR=str(REPO / "target"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    install = readme_commands()[0]
    proc = subprocess.run(
        ["bash", "-c", install], cwd=clone, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    return {"clone": clone, "venv": venv, "env": env, "proc": proc, "work": work}


def _run_dir(var: Path, stdout: str) -> Path:
    run_id = re.search(r"^run (\S+):", stdout, re.M)
    assert run_id, stdout
    return var / "results" / "backtests" / run_id.group(1)


def test_first_readme_command_installs_and_runs_from_the_clone_root(fresh_clone: dict) -> None:
    proc = fresh_clone["proc"]
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "SYNTHETIC" in proc.stdout  # the example says what its data is
    run_dir = _run_dir(fresh_clone["clone"] / "var", proc.stdout)
    for name in ("trades.json", "equity.csv", "metrics.json", "meta.json"):
        assert (run_dir / name).is_file(), name


def test_the_installed_package_runs_from_any_directory(fresh_clone: dict) -> None:
    assert fresh_clone["proc"].returncode == 0
    elsewhere = fresh_clone["work"] / "elsewhere"
    elsewhere.mkdir()
    python = fresh_clone["venv"] / "bin" / "python"
    proc = subprocess.run(
        [str(python), "-m", "omega_v2", "run", "--quiet"],
        cwd=elsewhere,
        env=fresh_clone["env"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (_run_dir(elsewhere / "var", proc.stdout) / "metrics.json").is_file()
