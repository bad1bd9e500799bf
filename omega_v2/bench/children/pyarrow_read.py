"""pyarrow reading M1 bid/ask files: the reference for the engine's data_load phase.

argv: `csv` or `parquet`, `1` (threads) or `0` (one thread), then the files. CSV is read whole
with type inference (`pyarrow.csv.read_csv`); parquet reads the time and OHLC columns. Prints
the read seconds (measured here, imports excluded), rows, file bytes and the time column's type.
"""

from __future__ import annotations

import json
import os
import sys
import time

COLUMNS = ["UTC time", "Open", "High", "Low", "Close"]


def main(kind: str, threads: bool, paths: list[str]) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.dataset  # noqa: F401 - read_table imports it on first use; imports are not timed
    import pyarrow.parquet as pq

    started = time.perf_counter()
    if kind == "csv":
        options = pacsv.ReadOptions(use_threads=threads)
        tables = [pacsv.read_csv(p, read_options=options) for p in paths]
    else:
        tables = [pq.read_table(p, columns=COLUMNS, use_threads=threads) for p in paths]
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": sum(t.num_rows for t in tables),
                "bytes": sum(os.path.getsize(p) for p in paths),
                "time_type": str(tables[0].schema.field("UTC time").type),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] == "1", sys.argv[3:])
