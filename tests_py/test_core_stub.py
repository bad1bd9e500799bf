"""The hand-written `_core.pyi` describes exactly what the built extension exports: the same
names, the same parameters (names, kinds, defaults) and the same class attributes."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from omega_v2 import _core

STUB = Path(__file__).resolve().parent.parent / "omega_v2" / "_core.pyi"
TREE = ast.parse(STUB.read_text(encoding="utf-8"))
FUNCTIONS = {n.name: n for n in TREE.body if isinstance(n, ast.FunctionDef)}
CLASSES = {n.name: n for n in TREE.body if isinstance(n, ast.ClassDef)}
CONSTANTS = {n.target.id: n for n in TREE.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}


def test_stub_names_match_the_extension() -> None:
    exported = {n for n in dir(_core) if not n.startswith("_") or n == "__version__"}
    stub_only_bases = {n for n in CLASSES if n.startswith("_")}  # shared members, declared once
    assert {*FUNCTIONS, *CLASSES, *CONSTANTS} - stub_only_bases == exported


def _stub_members(name: str) -> dict[str, ast.FunctionDef]:
    """A stub class's methods and properties, its stub base classes' included."""
    node = CLASSES[name]
    members: dict[str, ast.FunctionDef] = {}
    for base in node.bases:
        if isinstance(base, ast.Name) and base.id in CLASSES:
            members.update(_stub_members(base.id))
    members.update({n.name: n for n in node.body if isinstance(n, ast.FunctionDef)})
    return members


def _stub_parameters(node: ast.FunctionDef) -> list[tuple[str, str, str | None]]:
    """(name, kind, default source) of each parameter, `self` dropped."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + [ast.unparse(d) for d in args.defaults]
    params = [(a.arg, "positional", d) for a, d in zip(positional, defaults, strict=True)]
    params += [
        (a.arg, "keyword", None if d is None else ast.unparse(d))
        for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    return [p for p in params if p[0] != "self"]


def _runtime_parameters(fn: object) -> list[tuple[str, str, str | None]]:
    kinds = {inspect.Parameter.KEYWORD_ONLY: "keyword"}
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.name == "self":
            continue
        default = None if p.default is inspect.Parameter.empty else _source(p.default)
        out.append((p.name, kinds.get(p.kind, "positional"), default))
    return out


def _source(default: object) -> str:
    """A default as the stub writes it (`...` where the extension cannot render it)."""
    return "..." if default is Ellipsis else repr(default)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_signatures_match(name: str) -> None:
    assert _stub_parameters(FUNCTIONS[name]) == _runtime_parameters(getattr(_core, name))


@pytest.mark.parametrize("name", sorted(n for n in CLASSES if not n.startswith("_")))
def test_class_members_match(name: str) -> None:
    cls = getattr(_core, name)
    stub = _stub_members(name)
    public = {n for n in dir(cls) if not n.startswith("_")}
    assert set(stub) - {"__init__"} == public
    for member, node in stub.items():
        if member == "__init__":
            assert _stub_parameters(node) == _runtime_parameters(cls), name
        elif not isinstance(inspect.getattr_static(cls, member), property | type(_core.CancelToken.cancelled)):
            assert _stub_parameters(node) == _runtime_parameters(getattr(cls, member)), (name, member)


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_constants_have_the_stub_type(name: str) -> None:
    origin = ast.unparse(CONSTANTS[name].annotation).split("[")[0]
    assert type(getattr(_core, name)).__name__ == origin


def test_cancel_token_surface() -> None:
    token = _core.CancelToken()
    assert token.cancelled is False
    token.cancel()
    assert token.cancelled is True
