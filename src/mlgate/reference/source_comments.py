"""Comments next to assignments, read with tokenize: the documentation the code keeps in place."""

from __future__ import annotations

import io
import tokenize


def comments_by_line(source: str) -> dict[int, str]:
    """Each comment's text (without `#`) by its 1-based line, and whether it stands alone on it."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = token.string.lstrip("#").strip()
    return found


def own_line_comments(source: str) -> dict[int, str]:
    """Comments that are the only thing on their line (a block above an assignment)."""
    lines = source.splitlines()
    return {
        number: text
        for number, text in comments_by_line(source).items()
        if lines[number - 1].lstrip().startswith("#")
    }


def block_above(line: int, own_line: dict[int, str]) -> list[str]:
    """The contiguous comment lines right above `line` (1-based), top first."""
    block = []
    number = line - 1
    while number in own_line:
        block.insert(0, own_line[number])
        number -= 1
    return block


def table_cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ").strip() or "—"
