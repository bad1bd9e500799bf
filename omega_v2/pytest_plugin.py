"""pytest plugin (entry point `pytest11`): fixtures for testing strategies and configs.

- `omega_var_dir`: a fresh var dir per test (logs and results never leak into ./var).
- `omega_run`: `omega_run(config, **kwargs) -> RunResult` using that var dir.
- `assert_same_artefacts`: `assert_same_artefacts(a, b)` fails unless trades, equity and
  metrics of two runs are byte-identical (the determinism/golden contract).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from omega_v2._core import RESULT_ARTEFACTS as DETERMINISTIC_ARTEFACTS


def same_artefacts(a: Any, b: Any) -> list[str]:
    """Names of the deterministic artefacts that differ between two runs (RunResult or dirs)."""
    dir_a, dir_b = Path(getattr(a, "run_dir", a)), Path(getattr(b, "run_dir", b))
    return [n for n in DETERMINISTIC_ARTEFACTS if (dir_a / n).read_bytes() != (dir_b / n).read_bytes()]


@pytest.fixture
def omega_var_dir(tmp_path: Path) -> Path:
    var = tmp_path / "var"
    var.mkdir()
    return var


@pytest.fixture
def omega_run(omega_var_dir: Path) -> Callable[..., Any]:
    from omega_v2 import run

    def _run(config: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("var_dir", omega_var_dir)
        return run(config, **kwargs)

    return _run


@pytest.fixture
def assert_same_artefacts() -> Callable[[Any, Any], None]:
    def _assert(a: Any, b: Any) -> None:
        differing = same_artefacts(a, b)
        assert not differing, f"artefacts differ: {', '.join(differing)}"

    return _assert
