"""The `environment` block: what the figures were measured on and how."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import omega_v2
from omega_v2.bench.measure import RSS_METHOD, SCRUBBED_ENV

PEER_PACKAGES = ("backtesting", "pandas", "pyarrow")


def environment(var_dir: Path, load_before: list[float] | None) -> dict[str, Any]:
    """`load_before`: the load average when the bench started (with the one at the end, it tells
    whether other work shared the machine and the figures are noisier than usual)."""
    return {
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "omega_v2": omega_v2.__version__,
        "packages": {name: _version(name) for name in PEER_PACKAGES},
        "var_dir_filesystem": filesystem(var_dir),
        "peak_rss": RSS_METHOD,
        "processes": (
            "every measured figure comes from a fresh child process (OS page cache warm, pending disk writes "
            "flushed before it starts)"
        ),
        "scrubbed_env": list(SCRUBBED_ENV),
        "load_average_1_5_15_min": {"start": load_before, "end": load_average()},
    }


def load_average() -> list[float] | None:
    try:
        return list(os.getloadavg())
    except OSError:  # not available on this platform
        return None


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def filesystem(path: Path) -> str | None:
    """The type of the file system holding `path` (Linux /proc/mounts), e.g. ext4 or tmpfs:
    the write floor differs by orders of magnitude between disks and memory."""
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    target = str(path.resolve())
    best, kind = "", None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1]
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, fields[2]
    return kind
