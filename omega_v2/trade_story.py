"""`explain`: the story of one trade of a finished run, from its run_id alone.

The engine reruns the run's loop (deterministic, so exactly the same trades) with an observer
that records, for that one trade: the signal bar and the indicator values behind it, the entry
gates, the order, the fill (side, bid/ask prices, slippage, fee, sizing), every stop move, the
exit check that fired (the level against the bar's extreme with the pip buffer, the gap rule)
and the PnL arithmetic. Normal runs record none of it, so they pay nothing for it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from omega_v2 import _core, provenance, run_files
from omega_v2.errors import Code, ConfigError, ExecutionError

#: Fields of the trade the rerun must reproduce exactly.
_SAME = ("entry_time_ns", "exit_time_ns", "entry_price", "exit_price", "size", "result", "fees", "reason")


class TradeStory:
    """One trade's decision trail: `to_dict()` as data, `render()` as text."""

    def __init__(self, story: dict[str, Any], trade: dict[str, Any], meta: dict[str, Any]) -> None:
        self.story, self.trade, self.meta = story, trade, meta

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.meta["run_id"], "trade": self.trade, "story": self.story}

    def render(self) -> str:
        return "\n".join(_render(self.story, self.trade, self.meta))

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"TradeStory(run_id={self.meta['run_id']!r}, trade={self.story['trade']})"


def explain(
    run: Any,
    trade: int,
    *,
    var_dir: str | os.PathLike[str] | None = None,
    data_root: str | os.PathLike[str] | None = None,
    data: Any = None,
    signals: Any = None,
    strategy: Any = None,
) -> TradeStory:
    """The story of trade `trade` (0-based, as in `trades.json` and `RunResult.trades`) of the run
    `run` (a run_id, a run directory or a RunResult). In-memory data, signals and Python
    strategies are not stored with a run: pass the same ones again."""
    from omega_v2.inputs import engine_inputs

    rec = provenance.recorded(getattr(run, "run_dir", run), var_dir)
    trades = run_files.read_json(rec.run_dir / "trades.json", list)
    if not 0 <= trade < len(trades):
        raise ConfigError(
            f"run {rec.run_id} has {len(trades)} trades; trade numbers go from 0 to {len(trades) - 1}",
            code=Code.CONFIG_INVALID,
            context={"field": "trade"},
        )
    provenance.check_inputs(rec, data=data, signals=signals, strategy=strategy)
    root = provenance.data_root(rec, data_root) if not rec.in_memory else None
    inputs = engine_inputs(provenance.recorded_config(rec), data=data, signals=signals, strategy=strategy)
    inputs.pop("strategy_identity", None)
    story = json.loads(_core.explain(rec.config_json, data_root=root or ".", trade=trade, **inputs))
    _check_reproduced(story, trades[trade], rec)
    return TradeStory(story, trades[trade], rec.meta)


def _check_reproduced(story: dict[str, Any], trade: dict[str, Any], rec: provenance.RecordedRun) -> None:
    rerun = {
        "entry_time_ns": story["entry"]["bar"]["time_ns"],
        "exit_time_ns": story["exit"]["bar"]["time_ns"],
        "entry_price": story["pnl"]["entry_fill"],
        "exit_price": story["pnl"]["exit_fill"],
        "size": story["pnl"]["size"],
        "result": story["pnl"]["result"],
        "fees": story["pnl"]["fees"],
        "reason": story["exit"]["reason"],
    }
    differing = [k for k in _SAME if rerun[k] != trade[k]]
    if differing:
        raise ExecutionError(
            f"the rerun of run {rec.run_id} does not reproduce trade {story['trade']} ({', '.join(differing)} differ): "
            "its inputs changed in a way the manifest does not cover",
            code=Code.EXECUTION_NOT_REPRODUCED,
        )


def _price(x: float | None) -> str:
    return "none" if x is None else f"{x:.6g}"


def _render(s: dict[str, Any], trade: dict[str, Any], meta: dict[str, Any]) -> list[str]:
    d, currency = meta["dataset"], meta["account"]["account_currency"]
    lines = [
        f"trade {s['trade']} of run {meta['run_id']}: {s['direction']} {d['symbol']} {d['timeframe']}, "
        f"{s['exit']['reason']} exit, net {s['pnl']['net']:.2f} {currency}"
    ]
    sig = s.get("signal")
    if sig:
        indicators = ", ".join(f"{k} {_price(v)}" for k, v in sig["indicators"].items()) or "no indicator values"
        lines.append(f"signal  {sig['bar']['time']} (bar {sig['bar']['index']}): {indicators}")
        sizing = "risk sizing" if sig["sizing"] == "risk" else f"{sig['sizing']['lots']} lots"
        lines.append(
            f"        {sig['direction']} {sig['kind']} order at {_price(sig['entry_price'])}, "
            f"SL {_price(sig['stop_loss'])}, TP {_price(sig['take_profit'])}, {sizing}"
            + (f", scenario {sig['scenario_id']}" if sig["scenario_id"] else "")
        )
    gates = s.get("gates")
    if gates:
        sessions = (
            gates["sessions"] if isinstance(gates["sessions"], str) else "open in " + ", ".join(gates["sessions"])
        )
        since = gates["bars_since_last_exit"]
        cooldown = f"cooldown {gates['cooldown_bars']} bars" + (
            f" ({since} since the last exit)" if since is not None else ""
        )
        lines.append(
            f"gates   session {sessions}; no news blackout ({gates['news_blackouts']} windows); {cooldown}; flat"
        )
    skipped = {k: v for k, v in s["skipped_before"].items() if v}
    if skipped:
        lines.append("        before it: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in skipped.items()))
    order = s["order"]
    if "placed" in order:
        lines.append(
            f"order   {order['kind']} at {_price(order['entry_price'])} placed {order['placed']['time']}, "
            f"triggered {order['triggered']['time']}"
        )
    e = s["entry"]
    bar = e["bar"]
    sizing = e["sizing"]
    lines.append(
        f"entry   {bar['time']}: {e['side']} {_price(e['price_before_slippage'])} + slippage {e['slippage']:+.6g} = "
        f"{_price(e['fill'])} (bid {_price(bar['bid']['close'])} / ask {_price(bar['ask']['close'])} at the close); "
        f"{e['size']} lots, fee {e['fee']:.2f}"
    )
    if sizing["mode"] == "risk":
        limits = sizing["limits"]
        lines.append(
            f"        size: risk {limits['risk_per_trade']} / (|{_price(e['fill'])} - {_price(e['stop_loss'])}| x "
            f"{limits['contract_size']:g} x {sizing['quote_to_account']:.6g}) = {sizing['raw_lots']:.6g} lots, "
            f"floored to the step {limits['volume_step']:g} -> {e['size']}"
        )
    for m in s["management"]:
        lines.append(
            f"manage  {m['bar']['time']}: {m['rule']} moved the stop {_price(m['from'])} -> {_price(m['to'])} "
            f"(close {_price(m['close'])}), {m['effective']}"
        )
    x = s["exit"]
    why = x.get("rule", f"at the {x['side']} close")
    lines.append(f"exit    {x['bar']['time']}: {x['reason']}: {why}")
    if x.get("gap"):
        lines.append(f"        {x['gap_rule']}")
    lines.append(
        f"        {_price(x['price_before_slippage'])} + slippage {x['slippage']:+.6g} = {_price(x['fill'])}, "
        f"fee {x['fee']:.2f}"
    )
    p = s["pnl"]
    lines.append(
        f"pnl     ({_price(p['exit_fill'])} - {_price(p['entry_fill'])}) x {p['sign']:+g} x {p['size']} x "
        f"{p['contract_size']:g} x {p['quote_to_account']:.6g} = {p['result']:.2f}; fees {p['fees']:.2f}; "
        f"net {p['net']:.2f} {currency}" + (f"; R {p['r_multiple']:.3f}" if p["r_multiple"] is not None else "")
    )
    return lines


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("explain", help="the story of one trade of a run: signal, gates, fill, exit, PnL")
    parser.add_argument("run_id", help="the run's id (or its run directory)")
    parser.add_argument("--trade", type=int, required=True, help="trade number, from 0, as in trades.json")
    parser.add_argument("--json", action="store_true", help="the story as JSON instead of text")
    parser.add_argument("--data-root", help="where the run's data files are now (default: where it read them)")
    parser.add_argument("--var-dir", help="base directory of logs/ and results/ (default: $OMEGA_VAR_DIR, else ./var)")
    parser.set_defaults(handler=_command)
    return parser


def _command(args: argparse.Namespace) -> int:
    story = explain(args.run_id, args.trade, var_dir=args.var_dir, data_root=args.data_root)
    print(json.dumps(story.to_dict(), indent=2) if args.json else story.render(), file=sys.stdout)
    return 0
