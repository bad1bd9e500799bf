"""Parameters of `python`: the user's own strategy class validates them (its `Params` model),
so the config keeps any JSON object here (see `docs/own-strategy.md`)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict, model_validator

from omega_v2.config.strategies.base import StrategyParameters
from omega_v2.config.types import rule


class PythonStrategyParameters(StrategyParameters):
    """Free-form: whatever the strategy class passed as `strategy=` expects."""

    model_config = ConfigDict(extra="allow", frozen=True, hide_input_in_errors=True, defer_build=True)
    strategy_name: ClassVar[str] = "python"

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_names(cls, data: Any) -> Any:
        # Every name is the user's; only JSON values can be hashed and recorded.
        import json

        try:
            json.dumps(data, allow_nan=False)
        except (TypeError, ValueError):
            raise rule("must be JSON values (numbers, strings, booleans, lists, objects), finite") from None
        return data
