"""One measured child process: its wall time and peak RSS, seen from outside it.

Every figure of the bench comes from a fresh process, so nothing is warm in the interpreter
(imports, allocator, caches of the engine) except the OS page cache, as for a user running a
command twice. Peak RSS is `ru_maxrss` of that process alone (`os.wait4`), taken by a tiny
launcher that spawns it (see children/launch.py for why not the bench itself); the wall time
is measured there too, from spawn to exit. Before each one the bench flushes the disk's pending
writes (`sync`, untimed): the earlier measurements write gigabytes, and a run fsyncing its
artefacts behind their writeback would time the bench's history, not the run (a ten-year run's
write phase tripled).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from omega_v2.bench.children import script

# Log filters of the user's shell would change what the children log and so their speed; every
# mode runs at its own default level instead. A shell that forbids bytecode caching would make
# every child recompile the package's modules (20-30 ms), which a user's Python caches.
SCRUBBED_ENV = ("RUST_LOG", "OMEGA_PY_LOG", "PYTHONDONTWRITEBYTECODE")
RSS_METHOD = (
    "ru_maxrss of each measured process (os.wait4 in a minimal launcher that posix_spawns it, so it "
    "does not inherit the bench's own peak; floor ~10 MB, the launcher's); MB = 2**20 bytes"
)
# Lines of a failed child's stderr quoted in the error.
ERROR_TAIL_LINES = 5


class BenchError(Exception):
    """A bench step failed: a child exited non-zero or printed something unreadable."""


@dataclass(frozen=True)
class Measured:
    wall_s: float
    peak_rss_mb: float
    stdout: str
    stderr: str


def child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}


def measure(cmd: list[str], *, what: str) -> Measured:
    """Runs `cmd` to completion; raises BenchError (naming `what`) when it exits non-zero."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        launcher = [sys.executable, "-I", "-S", script("launch"), str(report)]
        os.sync()
        subprocess.run([*launcher, *cmd], stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=child_env())
        stdout, stderr = _read(out), _read(err)
        try:
            doc = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            raise BenchError(f"{what}: the launcher wrote no report; {_tail(stderr)}") from None
    if doc["exit_code"] != 0:
        raise BenchError(f"{what} exited with {doc['exit_code']}: {_tail(stderr)}")
    return Measured(doc["wall_s"], _rss_mb(doc["ru_maxrss"]), stdout, stderr)


def _tail(stderr: str) -> str:
    return "\n".join(stderr.strip().splitlines()[-ERROR_TAIL_LINES:]) or "(no stderr)"


def json_output(measured: Measured, what: str) -> dict:
    """The one JSON object a child printed on stdout."""
    try:
        return json.loads(measured.stdout)
    except json.JSONDecodeError:
        raise BenchError(f"{what} printed no JSON object on stdout (starts with {measured.stdout[:200]!r})") from None


def _read(handle) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", "replace")


def _rss_mb(maxrss: int) -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    return maxrss / (2**20 if sys.platform == "darwin" else 2**10)


def progress(message: str) -> None:
    """One plain progress line on stderr (stdout carries the report)."""
    print(f"bench: {message}", file=sys.stderr, flush=True)
