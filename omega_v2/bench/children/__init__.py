"""Standalone scripts the bench runs by path in fresh processes (`python children/x.py ...`).

They never import omega_v2, so a child's wall time and RSS hold only what it measures
(pyarrow, backtesting.py, plain file writes), except `own_sma.py`, which times the engine's own
phases of in-process runs; each prints one JSON object on stdout.
`launch.py` starts every measured process and reports its wall time and peak RSS.
"""

from __future__ import annotations

from pathlib import Path


def script(name: str) -> str:
    """The path of `children/<name>.py`, to run with sys.executable."""
    return str(Path(__file__).with_name(f"{name}.py"))
