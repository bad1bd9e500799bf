"""The fsync floor: the fastest durable write of given bytes with plain Python file I/O.

argv: a new directory to create, then source files. The sources are read first (not timed);
then, timed: create the directory, write each file's bytes to a new file there and fsync it
(`files_s`, what the engine's write phase does, which writes its two large files on two
threads); then fsync the directory and its parent (`dirs_s`, which the engine does when it
moves the finished run directory into place, after its timed phases). Prints both and bytes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main(target: Path, sources: list[Path]) -> None:
    contents = {p.name: p.read_bytes() for p in sources}
    started = time.perf_counter()
    target.mkdir()
    for name, data in contents.items():
        with open(target / name, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    files_done = time.perf_counter()
    fsync_dir(target)
    fsync_dir(target.parent)
    done = time.perf_counter()
    nbytes = sum(map(len, contents.values()))
    print(
        json.dumps(
            {"files_s": files_done - started, "dirs_s": done - files_done, "bytes": nbytes, "files": len(contents)}
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
