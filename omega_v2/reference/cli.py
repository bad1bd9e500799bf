"""Every command of `python -m omega_v2` with its arguments, walked from the CLI's own parser."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from omega_v2 import cli
from omega_v2.reference.markers import code, table

PROG = "python -m omega_v2"


def commands() -> dict[str, argparse.ArgumentParser]:
    """`{"run": parser, ..., "profile diff": parser}`: every leaf command, in the CLI's order."""
    return dict(_leaves(cli._parser(), ""))


def command_reference(name: str) -> str:
    """Usage line, what the command does, and a table of its arguments."""
    parser = commands()[name]
    helps = _help_texts(cli._parser(), "")
    arguments = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    text = code(" ".join([PROG, name, *(_usage(a) for a in arguments)])) + "\n\n"
    text += f"{_sentence(helps[name])}\n" if helps.get(name) else ""
    if parser.description and parser.description != helps.get(name):
        text += f"\n{parser.description}\n"
    if arguments:
        text += "\n" + table(["argument", "default", "meaning"], (_row(a) for a in arguments))
    if parser.epilog:
        text += f"\n{_sentence(parser.epilog)}\n"
    return text


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _leaves(parser: argparse.ArgumentParser, prefix: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    sub = _subparsers(parser)
    if sub is None:
        yield prefix.strip(), parser
        return
    for name, child in sub.choices.items():
        yield from _leaves(child, f"{prefix}{name} ")


def _help_texts(parser: argparse.ArgumentParser, prefix: str) -> dict[str, str]:
    """The one-line help of every command (and of every group such as `profile`)."""
    sub = _subparsers(parser)
    if sub is None:
        return {}
    out: dict[str, str] = {}
    for choice in sub._choices_actions:
        name = f"{prefix}{choice.dest}"
        out[name] = choice.help or ""
        out.update(_help_texts(sub.choices[choice.dest], f"{name} "))
    return out


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def _metavar(action: argparse.Action) -> str:
    if action.choices and not action.option_strings:
        return "{" + ",".join(action.choices) + "}"
    return action.metavar or action.dest.upper()


def _spelled(action: argparse.Action) -> str:
    """`--format {parquet,csv}`, `--profile`, `CONFIG`."""
    if not action.option_strings:
        return _metavar(action)
    flag = action.option_strings[-1]
    if action.nargs == 0:
        return flag
    value = "{" + ",".join(action.choices) + "}" if action.choices else _metavar(action)
    return f"{flag} [{value}]" if action.nargs == "?" else f"{flag} {value}"


def _usage(action: argparse.Action) -> str:
    spelled = _spelled(action)
    return spelled if action.required else f"[{spelled}]"


def _row(action: argparse.Action) -> tuple[str, str, str]:
    default = action.default
    shown = "" if default in (None, False, argparse.SUPPRESS) or action.nargs == 0 else code(str(default))
    required = " (required)" if action.required and action.option_strings else ""
    return code(_spelled(action)) + required, shown, action.help or ""
