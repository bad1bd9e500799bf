"""The run config: validation, normalisation, canonical JSON and hash (see `docs/config.md`).

``load_config`` turns a dict or a JSON file into a :class:`LoadedConfig` whose ``normalized``
dict has exactly the shape the engine deserialises. The package mirrors the engine: field
types (`types`), sections (`sections`), one module per strategy's parameters (`strategies`),
the model (`model`), unknown keys (`unknown_keys`), error translation (`translate`), canonical
form and hash (`canonical`) and the loader (`loader`).
"""

from omega_v2.config.canonical import allowlisted_fields, canonical_json, config_hash
from omega_v2.config.loader import LoadedConfig, example_config_path, load_config
from omega_v2.config.model import OmegaConfig
from omega_v2.config.strategies import (
    STRATEGIES,
    MeanReversionZScoreParameters,
    SmaCrossoverParameters,
    StrategyParameters,
)

__all__ = [
    "STRATEGIES",
    "LoadedConfig",
    "MeanReversionZScoreParameters",
    "OmegaConfig",
    "SmaCrossoverParameters",
    "StrategyParameters",
    "allowlisted_fields",
    "canonical_json",
    "config_hash",
    "example_config_path",
    "load_config",
]
