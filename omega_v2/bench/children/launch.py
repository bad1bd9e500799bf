"""Starts one measured command and reports its wall time, exit code and peak RSS.

argv: a report path, then the command. Run as `python -I -S launch.py ...` so this process is
small: Linux carries the high-water RSS of the memory a process had before exec into its
ru_maxrss, so a command spawned straight from the bench (which holds generated data) would
report at least the bench's own peak. posix_spawn from this fresh, tiny interpreter leaves the
command's ru_maxrss its own (floored at this launcher's ~10 MB). The command inherits stdin,
stdout, stderr and the environment; the report is one JSON object written to the report path.
"""

import json
import os
import sys
import time


def main(report: str, cmd: list[str]) -> None:
    started = time.perf_counter()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    doc = {"wall_s": wall, "exit_code": os.waitstatus_to_exitcode(status), "ru_maxrss": usage.ru_maxrss}
    with open(report, "w", encoding="utf-8") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
