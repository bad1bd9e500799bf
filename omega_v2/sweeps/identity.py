"""What makes two points the same run: the config hash plus the identity of what the run reads
besides its config (an in-memory market's sides, a signals frame, a Python strategy's class and
source); data files are checked against each finished run's own manifest when it is reused
(`store.Reuse`). The sweep_id names the store of finished points."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from omega_v2.errors import Code, ConfigError

#: A sweep_id is one safe directory name.
SWEEP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def input_identity(inputs: Any) -> dict[str, Any]:
    """sha256 digests of the in-memory inputs (`tasks.Inputs`), as the run's meta.json records
    them; empty for a run that reads only files."""
    from omega_v2 import _core

    identity: dict[str, Any] = {}
    if inputs.market is not None or inputs.signals is not None:
        identity.update(_core.input_digests(market=inputs.market, signals=inputs.signals))
    if inputs.strategy is not None:
        from omega_v2.strategy import identity as strategy_identity
        from omega_v2.strategy import instantiate

        identity["strategy"] = strategy_identity(instantiate(inputs.strategy))
    return identity


def point_key(config_hash: str, identity: dict[str, Any]) -> str:
    """The key of a point in the store of finished points."""
    return _digest({"config_hash": config_hash, "inputs": identity})


def default_sweep_id(
    base: dict[str, Any],
    param_names: list[str],
    identity: dict[str, Any],
    data_root: str | None,
    kind: str,
    extra: dict[str, Any] | None = None,
) -> str:
    """`<kind>-<12 hex>` from the base config without the swept fields, the swept parameters'
    names (not their values: adding values to a grid keeps the sweep, so only the new points
    run), the data's identity (in-memory digests, else the data root) and `extra` (what else
    defines the sweep, e.g. walk-forward windows)."""
    fixed = json.loads(json.dumps(base))
    for name in param_names:
        *parents, leaf = name.split(".")
        node = fixed
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    material = {
        "base": fixed,
        "params": sorted(param_names),
        "inputs": identity,
        "data_root": data_root,
        "extra": extra or {},
    }
    return f"{kind}-{_digest(material)[:12]}"


def checked_sweep_id(sweep_id: str) -> str:
    if not isinstance(sweep_id, str) or not SWEEP_ID.fullmatch(sweep_id):
        raise ConfigError(
            "sweep_id must be 1-128 letters, digits, `.`, `_` or `-`, starting with a letter or digit",
            code=Code.CONFIG_INVALID,
            context={"field": "sweep_id"},
        )
    return sweep_id


def _digest(material: dict[str, Any]) -> str:
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
