"""The gates reference: every shipped gate by family, with the settings it reads.

Read from the source of mlgate.gates.<family> (the modules each family's
`__init__` imports) with ast, since the gate modules import pytest and the
library does not.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import mlgate
from mlgate.reference.source_comments import table_cell
from mlgate.settings import Settings

GATES = Path(mlgate.__file__).parent / "gates"
FAMILIES = ("data", "model", "perf")


def _shipped_modules(family: str) -> list[Path]:
    tree = ast.parse((GATES / family / "__init__.py").read_text(encoding="utf-8"))
    prefix = f"mlgate.gates.{family}."
    return [
        GATES / family / (node.module.removeprefix(prefix) + ".py")
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(prefix)
    ]


def _settings_read(function: ast.FunctionDef) -> list[str]:
    fields = {f.name for f in dataclasses.fields(Settings)}
    names = {
        node.attr
        for node in ast.walk(function)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "settings"
    }
    return sorted(names & fields)


def shipped_gates() -> dict[str, list[tuple[str, str, str, list[str]]]]:
    """Family -> (module, gate, first docstring line, settings read) for every shipped gate."""
    found: dict[str, list] = {}
    for family in FAMILIES:
        rows = []
        for path in _shipped_modules(family):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            module_doc = (ast.get_docstring(tree) or "").split("\n")[0]
            for node in tree.body:
                if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                    doc = (ast.get_docstring(node) or module_doc).split("\n")[0]
                    rows.append((path.stem, node.name, doc, _settings_read(node)))
        found[family] = rows
    return found


INTRO = """# Gates

The gates mlgate ships, by family. A project's `gates/<family>/test_<family>_gates.py` takes
them with one line (`from mlgate.gates.<family> import *`), so a new mlgate brings new gates
with `pip install --upgrade`. A gate a team writes in `gates/` counts in the verdict like these
(see [Write a gate](../how-to/write-a-gate.md)). A gate that is skipped blocks promotion as
surely as one that fails. The data family also holds one test per expectation of the dataset's
suite (`test_expectation_holds[...]`).
"""


def render_gates() -> str:
    lines = [INTRO]
    for family, rows in shipped_gates().items():
        lines.append(f"\n## {family}\n")
        module = None
        for module_name, name, doc, settings in rows:
            if module_name != module:
                module = module_name
                lines += [f"\n### `mlgate.gates.{family}.{module}`\n", f"{doc}\n",
                          "| gate | settings it reads |", "| --- | --- |"]
            read = ", ".join(f"`{s}`" for s in settings) or "—"
            lines.append(f"| `{name}` | {read} |")
    return "\n".join(lines) + "\n"
