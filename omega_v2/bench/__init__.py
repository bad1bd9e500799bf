"""`python -m omega_v2 bench`: how fast omega-v2 is for its users, measured end to end.

Every figure comes from a fresh process running what users run (the installed package's CLI,
`import omega_v2`, or a peer library), on seeded synthetic EURUSD M1 bid/ask data generated
beforehand. Sections (`--only`): `e2e` (the year, parquet and CSV, dev/prod/profiling), `peers`
(backtesting.py on the same CSV), `scale` (ten years), `import`, `loading` (against pyarrow),
`write` (against the fsync floor). The registry of sections is `omega_v2.bench.sections`.
"""

from omega_v2.bench.command import add_parser, main, run

__all__ = ["add_parser", "main", "run"]
