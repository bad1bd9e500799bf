"""The exception classes with their CLI exit codes, and every error code of the engine's
catalogue."""

from __future__ import annotations

from omega_v2 import _core, errors
from omega_v2.reference.markers import code, table


def classes_table() -> str:
    """Each class: the kind of the codes it carries, its exit code, what else it is."""
    rows = []
    for kind, cls in errors.CLASS_OF_KIND.items():
        also = [b.__name__ for b in cls.__mro__[1:] if b not in (errors.OmegaError, Exception, BaseException, object)]
        doc = (cls.__doc__ or "").strip().splitlines()[0].replace("``", "`")
        rows.append((code(f"omega_v2.{cls.__name__}"), code(kind), str(cls.exit_code), ", ".join(also), doc))
    return table(["class", "kind", "exit code", "also a", "raised when"], rows)


def codes_table() -> str:
    """Every code, its kind (which names the class above) and what it means."""
    rows = ((code(c), code(kind), what) for c, kind, what in _core.error_catalogue())
    return table(["code", "kind", "meaning"], rows)
