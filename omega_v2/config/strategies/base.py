"""The base of every strategy parameter model: immutable, unknown names are errors."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails

from omega_v2.config.types import rule
from omega_v2.errors import Code


class StrategyParameters(BaseModel):
    """Base of the per-strategy parameter models; an unknown parameter name is an error."""

    # Built on first use: a run validates the parameters of one strategy only.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True, defer_build=True)
    strategy_name: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        unknown = [str(name) for name in data if name not in cls.model_fields]
        if unknown:
            # One located error per name (a nested ValidationError keeps its locations).
            raise ValidationError.from_exception_data(
                cls.__name__,
                [_unknown_parameter(cls, name) for name in unknown],
                hide_input=True,
            )
        return data


def _unknown_parameter(model: type[StrategyParameters], name: str) -> InitErrorDetails:
    from omega_v2.config.suggest import did_you_mean

    known = sorted(model.model_fields)
    hint = did_you_mean(name, known) or f" (parameters: {', '.join(known)})"
    message = f"is not a parameter of strategy `{model.strategy_name}`{hint}"
    return InitErrorDetails(type=rule(message, Code.CONFIG_STRATEGY_PARAMETER), loc=(name,), input=None)
