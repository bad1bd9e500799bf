"""Canonical JSON, the config hash and the allowlisted fields (the only config values that may
appear in logs and messages; which fields they are is the engine's rule, read from it)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from omega_v2 import _core


def canonical_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, no insignificant whitespace, UTF-8 text.

    The config hash is defined over this serialisation only; Rust never recomputes it.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def config_hash(obj: Any) -> str:
    """sha256 hex of the UTF-8 bytes of `canonical_json(obj)`."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


def allowlisted_fields(config: Any) -> dict[str, Any]:
    """The allowlisted scalar fields of a config (a dump, an `OmegaConfig` or a `LoadedConfig`),
    under their log names."""
    from omega_v2.config.model import OmegaConfig

    if isinstance(config, OmegaConfig):
        config = config.model_dump(mode="json")
    elif not isinstance(config, Mapping):  # a LoadedConfig
        config = config.normalized
    return _core.allowlisted_fields(canonical_json(config))
