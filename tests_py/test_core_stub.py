"""The hand-written `_core.pyi` describes exactly what the built extension exports."""

import ast
from pathlib import Path

from omega_v2 import _core

STUB = Path(__file__).resolve().parent.parent / "omega_v2" / "_core.pyi"


def _stub_names() -> set[str]:
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_stub_matches_the_extension() -> None:
    exported = {n for n in dir(_core) if not n.startswith("_") or n == "__version__"}
    assert _stub_names() == exported


def test_cancel_token_surface() -> None:
    token = _core.CancelToken()
    assert token.cancelled is False
    token.cancel()
    assert token.cancelled is True
