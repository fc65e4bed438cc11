"""The CLI reference: `mlgate` and its commands from their argparse parsers, and the pytest options.

The pytest options are read from the plugin's source (`group.addoption(...)`
calls) rather than imported: the library does not import pytest.
"""

from __future__ import annotations

import argparse
import ast
import inspect
from pathlib import Path

import mlgate

from mlgate import cli
from mlgate.monitoring import sidecar
from mlgate.reference.source_comments import table_cell
from mlgate.team import cli as team_cli

# Read, not imported: mlgate.plugin imports pytest.
PLUGIN_MODULE = Path(mlgate.__file__).parent / "plugin" / "__init__.py"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _help_of(parser: argparse.ArgumentParser, name: str) -> str:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.dest == name:
                    return choice.help or ""
    return ""


def _option_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.option_strings:
            metavar = action.metavar or (action.dest.upper() if action.nargs != 0 else "")
            name = ", ".join(action.option_strings) + (f" {metavar}" if metavar else "")
        else:
            name = action.metavar or action.dest.upper()
        needed = " (required)" if action.required and action.option_strings else ""
        rows.append(f"| `{name}` | {table_cell((action.help or '') + needed)} |")
    return rows


def _command_section(title: str, parser: argparse.ArgumentParser, summary: str, level: str = "##") -> list[str]:
    lines = [f"\n{level} `{title}`\n"]
    if summary:
        lines.append(summary[:1].upper() + summary[1:] + ".\n")
    rows = _option_rows(parser)
    if rows:
        lines += ["| argument | what it does |", "| --- | --- |", *rows]
    else:
        lines.append("No options.")
    return lines


def _commands(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    lines: list[str] = []
    delegated = {"sidecar": sidecar.build_parser(), "team": team_cli.build_parser()}
    for name, command in _subcommands(parser).items():
        summary = _help_of(parser, name)
        if name in delegated:
            command = delegated[name]
        sub = _subcommands(command)
        if sub:
            lines.append(f"\n## `{prefix} {name}`\n\n{summary[:1].upper() + summary[1:]}.")
            for inner, inner_parser in sub.items():
                lines += _command_section(f"{prefix} {name} {inner}", inner_parser, _help_of(command, inner), "###")
        else:
            lines += _command_section(f"{prefix} {name}", command, summary)
    return lines


def pytest_options() -> list[tuple[str, str, str]]:
    """(option, metavar, help) of every `group.addoption` call in the plugin's entry module."""
    tree = ast.parse(PLUGIN_MODULE.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "addoption":
            keywords = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg in ("metavar", "help")}
            found.append((ast.literal_eval(node.args[0]), keywords.get("metavar", ""), keywords.get("help", "")))
    return found


INTRO = """# Command line

One command, `mlgate` (also `python -m mlgate`), and the options of the pytest plugin for
`pytest gates/`. Every command reads `[tool.mlgate]` from `pyproject.toml` in the working
folder. See [exit codes](exit-codes.md) for what each returns.
"""


def render_cli() -> str:
    parser = cli.build_parser()
    lines = [INTRO, "## `pytest gates/` options\n", "| option | what it does |", "| --- | --- |"]
    lines += [f"| `{name} {metavar}` | {table_cell(text)} |" for name, metavar, text in pytest_options()]
    lines.append(f"\n## `mlgate`\n\n{inspect.cleandoc(parser.description or '')}.\n")
    lines += ["| argument | what it does |", "| --- | --- |", *_option_rows(parser)]
    lines += _commands(parser, "mlgate")
    return "\n".join(lines) + "\n"
