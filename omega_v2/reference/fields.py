"""Rows describing the fields of a pydantic model, read from the model itself.

Each row is (key, type, default, rule, meaning):

* type and constraints from the annotation and its metadata (`int`, `> 0`, `"dev"`, `"prod"`);
* the default from the field (`required` when there is none), with `Field(examples=...)`;
* the rule from the first docstring line of every validator that applies to the field: the
  `BeforeValidator`/`AfterValidator` of its type and the model's `field_validator`s. A
  validator's docstring is its rule in the user's words, so the rule and its text live in one
  function;
* the meaning from `Field(description=...)`, or a nested section's class docstring.

A field without a description is an error: every field a user can set is documented.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic.functional_validators import AfterValidator, BeforeValidator, PlainValidator
from pydantic_core import PydanticUndefined

from omega_v2.reference.markers import code


@dataclass(frozen=True)
class Row:
    key: str
    type: str
    default: str
    rule: str
    meaning: str

    def cells(self) -> tuple[str, str, str, str, str]:
        return (code(self.key), self.type, self.default, self.rule, self.meaning)


class UndocumentedFieldError(ValueError):
    """A model field without `Field(description=...)`."""


def rows(model: type[BaseModel], prefix: str = "") -> Iterator[Row]:
    """One row per field of `model`, nested sections expanded in place under dotted keys."""
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        section = _section(info.annotation)
        meaning = info.description or (_first_line(section.__doc__).rstrip(".") if section else "")
        if not meaning:
            raise UndocumentedFieldError(f"config field `{key}` of {model.__name__} has no Field(description=...)")
        metadata = [*info.metadata, *_optional_metadata(info.annotation)]
        rule = _joined([*_constraints(metadata), *_validator_rules(metadata), *_model_rules(model, name)])
        yield Row(key, type_name(info.annotation), _default(info), rule, meaning)
        if section is not None:
            inner = f"{key}[]." if _is_list(info.annotation) else f"{key}."
            yield from rows(section, inner)


def type_name(annotation: Any) -> str:
    """The JSON type of an annotation, as a user writes it."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        named = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(named) + (" or null" if type(None) in args else "")
    if origin is typing.Literal:
        return ", ".join(code(json.dumps(a)) for a in args)
    if origin is list:
        item = args[0]
        constraints = _joined(_constraints(typing.get_args(item)[1:])) if typing.get_origin(item) else ""
        return f"list of {_plural(type_name(item))}" + (f" (each {constraints})" if constraints else "")
    if origin is dict or annotation is dict:
        return "object"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return {int: "int", float: "number", bool: "bool", str: "string"}.get(annotation, str(annotation))


def _plural(name: str) -> str:
    return {"object": "objects", "int": "ints", "number": "numbers", "string": "strings"}.get(name, name)


def _section(annotation: Any) -> type[BaseModel] | None:
    """The nested model inside a field's annotation (through Optional and list), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        # Strategy parameters are one object whose fields depend on `strategy_name`.
        return annotation if annotation.model_fields else None
    for arg in typing.get_args(annotation):
        if (found := _section(arg)) is not None:
            return found
    return None


def _optional_metadata(annotation: Any) -> list[Any]:
    """Constraints and validators of the type inside `Annotated[...] | None`."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return []
    inner = [a for a in typing.get_args(annotation) if typing.get_origin(a) is typing.Annotated]
    return [m for a in inner for m in typing.get_args(a)[1:]]


def _is_list(annotation: Any) -> bool:
    return typing.get_origin(annotation) is list or any(_is_list(a) for a in typing.get_args(annotation))


def _constraints(metadata: Any) -> list[str]:
    """`> 0`, `>= 1`, `<= 1000`, `at least 1 item` from annotated-types metadata."""
    out: list[str] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            out += _constraints(item.metadata)
        elif isinstance(item, at.Gt):
            out.append(f"> {_number(item.gt)}")
        elif isinstance(item, at.Ge):
            out.append(f">= {_number(item.ge)}")
        elif isinstance(item, at.Lt):
            out.append(f"< {_number(item.lt)}")
        elif isinstance(item, at.Le):
            out.append(f"<= {_number(item.le)}")
        elif isinstance(item, at.MinLen):
            out.append(f"at least {item.min_length} item" + ("s" if item.min_length != 1 else ""))
    return out


def _number(value: Any) -> str:
    if isinstance(value, int) and value >= 2**32 and (value & (value - 1)) == 0:
        return f"2^{value.bit_length() - 1}"
    return str(value)


def _validator_rules(metadata: Any) -> list[str]:
    """Docstring rules of the validators attached to a field's type."""
    funcs = [m.func for m in metadata if isinstance(m, (AfterValidator, BeforeValidator, PlainValidator))]
    return [line for f in funcs if (line := _first_line(f.__doc__))]


def _model_rules(model: type[BaseModel], field: str) -> list[str]:
    """Docstring rules of the model's `field_validator`s on `field`."""
    decorators = model.__pydantic_decorators__.field_validators.values()
    return [line for d in decorators if field in d.info.fields and (line := _first_line(d.func.__doc__))]


def _default(info: FieldInfo) -> str:
    examples = info.examples or []
    example = f"e.g. {', '.join(code(_json(e)) for e in examples)}" if examples else ""
    if info.is_required():
        return _joined(["required", example])
    if info.default_factory is not None:
        value = info.default_factory()
        if isinstance(value, BaseModel):
            return "per key"
        return _joined([code(_json(value)), example])
    return _joined([code(_json(info.default)) if info.default is not PydanticUndefined else "", example])


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _first_line(doc: str | None) -> str:
    return doc.strip().splitlines()[0].strip() if doc and doc.strip() else ""


def _joined(parts: list[str]) -> str:
    return "; ".join(p for p in parts if p)
