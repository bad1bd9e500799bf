"""backtesting.py's textbook SMA crossover on one M1 CSV, as its user would run it.

argv: CSV path, first trading day, fast, slow, cash. The whole file is read (like omega-v2, which
reads the warmup weeks before the span too) and the backtest runs from the first trading day,
so both trade the same bars. Always in the market: on each cross the position is closed and
reversed (like omega-v2's sma_crossover); no commission, no spread. Prints import, read and run
seconds (measured here), bars and trades as one JSON object.
"""

from __future__ import annotations

import json
import sys
import time


def main(path: str, first_day: str, fast: int, slow: int, cash: float) -> None:
    started = time.perf_counter()
    import pandas as pd
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    imported = time.perf_counter()
    frame = pd.read_csv(path, parse_dates=["UTC time"], date_format="ISO8601", index_col="UTC time")
    read = time.perf_counter()
    frame = frame.loc[first_day:, ["Open", "High", "Low", "Close", "Volume"]]  # the names backtesting.py wants

    def sma(values, n):
        return pd.Series(values).rolling(n).mean()

    class SmaCross(Strategy):
        n1 = fast
        n2 = slow

        def init(self):
            self.sma1 = self.I(sma, self.data.Close, self.n1)
            self.sma2 = self.I(sma, self.data.Close, self.n2)

        def next(self):
            if crossover(self.sma1, self.sma2):
                self.position.close()
                self.buy()
            elif crossover(self.sma2, self.sma1):
                self.position.close()
                self.sell()

    stats = Backtest(frame, SmaCross, cash=cash, commission=0.0, spread=0.0, finalize_trades=True).run()
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "import_s": imported - started,
                "read_s": read - imported,
                "run_s": done - read,
                "bars": len(frame),
                "trades": int(stats["# Trades"]),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
