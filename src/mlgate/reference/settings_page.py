"""The settings reference: every field of mlgate.settings.Settings with its type, default and comment.

The comments above each field are its documentation (the house rule: one
comment line per setting), so they are read from the class's source with
tokenize; a field with no comment of its own that directly follows a commented
one shares that comment (serving_p50/p95/p99 under one SLO comment).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from collections.abc import Mapping
from dataclasses import dataclass

from mlgate.reference.source_comments import block_above, own_line_comments, table_cell
from mlgate.settings import Settings

SECTION_MARK = "---"


@dataclass(frozen=True)
class SettingDoc:
    name: str
    type: str
    default: str
    section: str
    doc: str


def _toml(value) -> str:
    """A default as it would be written in [tool.mlgate]."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k} = {_toml(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)


def _default_of(field: dataclasses.Field, node: ast.AnnAssign) -> str:
    value = getattr(Settings(), field.name)
    shown = _toml(value)
    written = ast.unparse(node.value) if node.value is not None else ""
    if isinstance(node.value, ast.BinOp):  # 10 * 1024 * 1024: the arithmetic says the unit
        shown += f" ({written})"
    return shown


def _class_docs(cls: type) -> list[SettingDoc]:
    lines, first = inspect.getsourcelines(cls)
    source = "".join(lines)
    comments = own_line_comments(source)
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    docs: list[SettingDoc] = []
    section = ""
    for node in ast.parse(source).body[0].body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        block = block_above(node.lineno, comments)
        headers = [text for text in block if text.startswith(SECTION_MARK)]
        if headers:
            section = headers[-1].strip("- ").strip()
        doc = " ".join(text for text in block if not text.startswith(SECTION_MARK))
        name = node.target.id
        docs.append(SettingDoc(name, ast.unparse(node.annotation), _default_of(fields[name], node), section, doc))
    return docs


def setting_docs() -> list[SettingDoc]:
    """Every field of Settings, in declaration order (base classes first, if it is ever split)."""
    docs: list[SettingDoc] = []
    for cls in reversed(Settings.__mro__):
        if dataclasses.is_dataclass(cls) and cls.__dict__.get("__annotations__"):
            docs.extend(_class_docs(cls))
    return docs


INTRO = """# Settings

Every setting is declared once, in `mlgate.settings` (name, type, default, unit in the name).
A project sets its values in `[tool.mlgate]` of `pyproject.toml`. Values are layered, weakest
first: the defaults below, `[tool.mlgate]` in `pyproject.toml`, `[tool.mlgate]` in a
`--mlgate-config FILE`, then the command line (`--mlgate-dataset`, `--mlgate-target`,
`--mlgate-model-name`). `MLFLOW_TRACKING_URI` picks the tracking store (default
`sqlite:///mlflow.db` in the working folder).

A bad value (an unknown key, a wrong type, a fraction outside 0..1, a missing file) stops the
session before collection with one usage error naming the key, where it came from and what is
allowed. Seconds are seconds unless the name says otherwise; fractions are 0..1.
"""


def render_settings() -> str:
    out = [INTRO]
    section = None
    for doc in setting_docs():
        if doc.section != section:
            section = doc.section
            out.append(f"\n## {section[:1].upper() + section[1:] or 'Settings'}\n")
            out.append("| setting | type | default | what it is |\n| --- | --- | --- | --- |")
        out.append(f"| `{doc.name}` | `{doc.type}` | `{table_cell(doc.default)}` | {table_cell(doc.doc)} |")
    return "\n".join(out) + "\n"
