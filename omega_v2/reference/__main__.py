"""`python -m omega_v2.reference --write | --check [--docs DIR]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from omega_v2.reference.pages import check, docs_dir, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m omega_v2.reference", description="generated blocks of the user reference in docs/"
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite every generated block from the code")
    mode.add_argument("--check", action="store_true", help="exit 1 naming every stale page and block")
    parser.add_argument("--docs", type=Path, default=None, help="the docs directory (default: the checkout's docs/)")
    args = parser.parse_args(argv)
    docs = args.docs or docs_dir()
    if not docs.is_dir():
        print(f"error: no docs directory at {docs}; pass --docs DIR", file=sys.stderr)
        return 2
    if args.write:
        for page in write(docs):
            print(f"rewrote {page}")
        return 0
    stale = check(docs)
    for problem in stale:
        print(f"stale: {problem}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
