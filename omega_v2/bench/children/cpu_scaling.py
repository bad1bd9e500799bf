"""The machine's own ceiling for N processes: the same pure-CPU work (an integer loop, no
memory traffic, no I/O) in one process, then in N forked processes at once; prints the wall
times and the scaling (N x one / together). N workers of any kind cannot beat it.

argv: N, loop iterations.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time


def spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def main(processes: int, iterations: int) -> None:
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(spin, [1] * processes)  # started and warm
        began = time.perf_counter()
        spin(iterations)
        one = time.perf_counter() - began
        began = time.perf_counter()
        pool.map(spin, [iterations] * processes)
        together = time.perf_counter() - began
    doc = {"processes": processes, "one_s": one, "together_s": together, "scaling": processes * one / together}
    print(json.dumps(doc))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
