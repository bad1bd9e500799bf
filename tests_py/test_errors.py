"""The exception hierarchy and the one error-code catalogue it shares with the engine and the CLI."""

from __future__ import annotations

import copy
import pickle

import pytest

from omega_v2 import errors
from omega_v2.errors import (
    CLASS_OF_KIND,
    Code,
    ConfigError,
    DataError,
    ExecutionError,
    OmegaError,
    OutputError,
    RunCancelled,
    RunNotFound,
    StrategyError,
)

# (class, extra base it must also be, default code)
HIERARCHY = [
    (OmegaError, Exception, "internal"),
    (ConfigError, ValueError, "config.invalid"),
    (DataError, OmegaError, "data.invalid"),
    (ExecutionError, OmegaError, "execution.failed"),
    (OutputError, OmegaError, "output.failed"),
    (RunCancelled, KeyboardInterrupt, "run.cancelled"),
    (StrategyError, ExecutionError, "strategy.failed"),
    (RunNotFound, LookupError, "run.not_found"),
]
CLASSES = [cls for cls, _, _ in HIERARCHY]


@pytest.mark.parametrize(("cls", "base", "code"), HIERARCHY)
def test_hierarchy_and_default_code(cls: type[OmegaError], base: type, code: str) -> None:
    err = cls("boom")
    assert isinstance(err, OmegaError)
    assert isinstance(err, base)
    assert err.code == code
    assert err.run_id is None
    assert err.context == {}


@pytest.mark.parametrize("cls", CLASSES)
def test_attributes_and_str(cls: type[OmegaError]) -> None:
    err = cls("what went wrong", run_id="r-1", code="x.y", context={"row": 7, "file": "a.csv"})
    assert (err.message, err.run_id, err.code) == ("what went wrong", "r-1", "x.y")
    assert err.context == {"row": "7", "file": "a.csv"}  # values stringified
    assert str(err) == "what went wrong (run_id=r-1)"
    assert str(cls("plain")) == "plain"
    assert err.args == ("what went wrong",)


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        OmegaError("m", "run-1")  # type: ignore[misc]


def test_context_is_copied() -> None:
    context = {"field": "symbol"}
    err = ConfigError("bad", context=context)
    context["field"] = "changed"
    assert err.context == {"field": "symbol"}


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("protocol", [0, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL])
def test_pickle_round_trip(cls: type[OmegaError], protocol: int) -> None:
    err = cls(
        "failed",
        run_id="20261124T103000Z-3a0be012-7f2c",
        code="c.d",
        context={"k": "v"},
    )
    back = pickle.loads(pickle.dumps(err, protocol=protocol))
    assert type(back) is cls
    assert (back.message, back.run_id, back.code, back.context) == (
        "failed",
        "20261124T103000Z-3a0be012-7f2c",
        "c.d",
        {"k": "v"},
    )
    assert str(back) == str(err)


@pytest.mark.parametrize("cls", CLASSES)
def test_copy_keeps_attributes(cls: type[OmegaError]) -> None:
    err = cls("m", run_id="r", context={"a": "b"})
    for clone in (copy.copy(err), copy.deepcopy(err)):
        assert (type(clone), clone.run_id, clone.code, clone.context) == (
            cls,
            "r",
            err.code,
            {"a": "b"},
        )


@pytest.mark.parametrize(
    "name",
    [
        "OmegaError",
        "ConfigError",
        "DataError",
        "ExecutionError",
        "OutputError",
        "RunCancelled",
    ],
)
def test_rust_instantiates_by_name(name: str) -> None:
    # The extension looks classes up by name and passes keyword arguments.
    cls = getattr(errors, name)
    err = cls("from rust", run_id="r", code="data.missing_file", context={"file": "x.csv"})
    assert err.code == "data.missing_file"
    assert err.context == {"file": "x.csv"}
    assert name in errors.__all__


def test_run_cancelled_is_a_keyboard_interrupt() -> None:
    with pytest.raises(KeyboardInterrupt):
        raise RunCancelled("run cancelled by the user", run_id="r")


def test_config_error_is_caught_as_value_error() -> None:
    with pytest.raises(ValueError, match="bad field"):
        raise ConfigError("bad field")


def test_repr_names_class_and_code() -> None:
    assert repr(DataError("gap", run_id="r")) == "DataError('gap', code='data.invalid', run_id='r')"


# --------------------------------------------------------------------------------------
# One catalogue for Rust, Python and the CLI


def test_every_kind_of_the_catalogue_has_one_class_with_its_own_exit_code() -> None:
    assert set(CLASS_OF_KIND) == set(errors._core.ERROR_KINDS)
    exit_codes = {cls.exit_code for cls in CLASS_OF_KIND.values() if cls is not StrategyError}
    assert len(exit_codes) == len(CLASS_OF_KIND) - 1  # a strategy error is an execution error
    assert StrategyError.exit_code == ExecutionError.exit_code
    assert 0 not in exit_codes


def test_every_default_code_is_in_the_catalogue_under_its_class_kind() -> None:
    kinds = {code: kind for code, kind, _ in errors._core.error_catalogue()}
    for cls in CLASS_OF_KIND.values():
        assert kinds[cls.default_code] == cls.kind, cls


def test_the_python_package_names_codes_only_through_the_catalogue() -> None:
    """No string literal code anywhere in the package: `code=Code.X` always, so a code that is
    not in the catalogue cannot be raised."""
    import re
    from pathlib import Path

    package = Path(errors.__file__).parent
    literal = re.compile(r"""code=["']""")
    offenders = [str(p) for p in package.rglob("*.py") if literal.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
    assert Code.OUTPUT_EXISTS == "output.exists"
