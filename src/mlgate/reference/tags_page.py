"""The MLflow tags reference: the TAG_* and *_PREFIX constants of mlgate.tracking with their comments.

Names and values come from the public module (`from mlgate import tracking`),
so a split of tracking into a package that re-exports them changes nothing; the
comments come from the source of whichever module assigns each constant.
"""

from __future__ import annotations

import ast
import inspect
import pkgutil
from pathlib import Path

from mlgate import tracking
from mlgate.reference.source_comments import block_above, comments_by_line, own_line_comments, table_cell

TAG_NAMES = ("TAG_", )
PREFIX_SUFFIX = "_TAG_PREFIX"


def _sources() -> list[str]:
    """The source of mlgate.tracking, or of every module of it if it is a package."""
    path = Path(inspect.getsourcefile(tracking))
    if path.name != "__init__.py":
        return [path.read_text(encoding="utf-8")]
    modules = [path] + [path.parent / f"{m.name}.py" for m in pkgutil.iter_modules([str(path.parent)])]
    return [p.read_text(encoding="utf-8") for p in modules if p.is_file()]


def _documented(name: str) -> bool:
    return name.startswith(TAG_NAMES) or name.endswith(PREFIX_SUFFIX)


def tag_comments() -> dict[str, str]:
    """Each tag constant's comment: its trailing comment, else the comment block right above it."""
    found: dict[str, str] = {}
    for source in _sources():
        trailing, above = comments_by_line(source), own_line_comments(source)
        for node in ast.parse(source).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if _documented(name):
                    own = trailing.get(node.lineno) if node.lineno not in above else None
                    found[name] = own or " ".join(block_above(node.lineno, above))
    return found


def tag_constants() -> dict[str, str]:
    """Every public tag constant of mlgate.tracking: name -> the tag (or prefix) it stands for."""
    return {
        name: value
        for name, value in vars(tracking).items()
        if _documented(name) and isinstance(value, str)
    }


INTRO = """# MLflow tags

What a gate session (and `mlgate import-champion`) writes on its MLflow **run** and on the
model **version** it registers; the parenthesis says where. Search them in the MLflow UI
(`mlflow ui --backend-store-uri sqlite:///mlflow.db`) or with
`MlflowClient().search_model_versions("tags.\\`mlgate.verdict\\` = 'refused'")`.
A version's `mlgate.verdict` is `gating` from registration, then `promoted`, `refused` or
`failed`; `abandoned` when a later session finds its session gone. Versions are never deleted.

| tag | constant | what it holds |
| --- | --- | --- |
"""


def render_tags() -> str:
    comments = tag_comments()
    rows = [
        f"| `{value}`{'…' if name.endswith(PREFIX_SUFFIX) else ''} | `{name}` | {table_cell(comments.get(name, ''))} |"
        for name, value in sorted(tag_constants().items(), key=lambda item: item[1])
    ]
    return INTRO + "\n".join(rows) + "\n"
