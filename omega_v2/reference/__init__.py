"""The parts of the user reference in `docs/` that would rot if written by hand: config fields,
strategy parameters, metric definitions, error classes and codes, CLI commands. Each is
generated from the code that owns it into a marked block of a hand-written page (see
`markers`); `python -m omega_v2.reference --write` rewrites the blocks, `--check` fails naming
every stale page and block (the test suite runs the check).
"""

from omega_v2.reference.pages import BLOCKS, Stale, check, docs_dir, write

__all__ = ["BLOCKS", "Stale", "check", "docs_dir", "write"]
