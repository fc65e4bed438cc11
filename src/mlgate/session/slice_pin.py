"""Pinning a slice: a segment the gates found becomes a declared slice, so the next candidate is held to it.

The segment is read from a gate report (its red discovered slices, or a first champion's weakest
segments), by name or by index, and appended to `slices` in `[tool.mlgate]` of pyproject.toml as
one inline table. Only that array (or a new `slices = [...]` line) changes; the file is written
only if reading it back gives the same settings plus the new entry. Otherwise nothing is written
and the exact lines to paste are returned.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgate.evaluation.declared_slices import SliceSpecError, parse_declared_slices

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
TABLE_HEADER = re.compile(r"^\s*\[")


class PinError(ValueError):
    """The segment cannot be pinned; the message says why and what to pass."""


@dataclass(frozen=True)
class Pinned:
    entry: dict[str, Any]
    line: str  # the entry as TOML
    written: bool  # False: the file's shape made appending unsafe; paste `paste` by hand
    paste: str = ""


def toml_value(value: Any) -> str:
    """One value as TOML inline syntax (strings, numbers, booleans, lists, tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are TOML basic-string escapes
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = [f"{k if BARE_KEY.fullmatch(str(k)) else json.dumps(str(k))} = {toml_value(v)}"
                 for k, v in value.items()]
        return "{" + ", ".join(items) + "}"
    raise PinError(f"{value!r} cannot be written as TOML")


def pinnable(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's segments that can be pinned: red discovered slices, else the weakest segments."""
    slices = report.get("slices") or {}
    return (slices.get("discovered") or {}).get("red") or slices.get("weakest") or []


def find_entry(report: dict[str, Any], segment: str | None, index: int | None) -> dict[str, Any]:
    found = pinnable(report)
    names = [item["segment"] for item in found]
    if not found:
        raise PinError("the gate report has no red or weakest segment to pin; run `pytest gates/` first")
    if index is not None:
        if not 0 <= index < len(found):
            raise PinError(f"--index {index} is out of range: the report lists {len(found)} segment(s): {names}")
        return dict(found[index]["pin"])
    matches = [item for item in found if item["segment"] == segment]
    if not matches:
        raise PinError(f"no segment {segment!r} in the gate report; it lists {names}")
    return dict(matches[0]["pin"])


def read_report(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PinError(f"no gate report at {path}; run `pytest gates/` or pass --from-report PATH") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PinError(f"{path} is not a readable gate report ({error})") from None


def _mlgate_table(lines: list[str]) -> tuple[int, int] | None:
    """[start, end) of the `[tool.mlgate]` table's lines, header excluded."""
    starts = [i for i, line in enumerate(lines) if line.strip() == "[tool.mlgate]"]
    if len(starts) != 1:
        return None
    end = next((i for i in range(starts[0] + 1, len(lines)) if TABLE_HEADER.match(lines[i])), len(lines))
    return starts[0] + 1, end


def _array_end(lines: list[str], start: int, end: int) -> int | None:
    """The line that closes the `slices = [` array starting at `start`."""
    for last in range(start, end):
        try:
            tomllib.loads("\n".join(lines[start:last + 1]))
        except tomllib.TOMLDecodeError:
            continue
        return last
    return None


def _appended(text: str, line: str) -> list[str]:
    """Ways to append the entry to `slices`, most natural first; pin_slice keeps the first that reads back right."""
    lines = text.splitlines(keepends=False)
    table = _mlgate_table(lines)
    if table is None:
        return []
    start, end = table
    at = [i for i in range(start, end) if re.match(r"^\s*slices\s*=", lines[i])]
    if not at:
        last = max((i for i in range(start, end) if lines[i].strip()), default=start - 1)
        return [_joined([*lines[:last + 1], f"slices = [{line}]", *lines[last + 1:]], text)]
    close = _array_end(lines, at[0], end)
    if close is None:
        return []
    head = "\n".join(lines[at[0]:close + 1])
    bracket = head.rfind("]")
    before = head[:bracket].rstrip()
    joint = " " if before.endswith(("[", ",")) else ", "
    inline = [*lines[:at[0]], *(before + joint + line + head[bracket:]).split("\n"), *lines[close + 1:]]
    # A multi-line array closing on its own line: a new line before the bracket (after a comment too).
    own_line = [[*lines[:close], f"    {prefix}{line},", *lines[close:]] for prefix in ("", ", ")]
    return [_joined(candidate, text) for candidate in (*own_line, inline)]


def _joined(lines: list[str], original: str) -> str:
    return "\n".join(lines) + ("\n" if original.endswith("\n") else "")


def pin_slice(pyproject: Path, entry: dict[str, Any]) -> Pinned:
    """Append `entry` to `[tool.mlgate] slices` in pyproject, or say what to paste."""
    try:
        parse_declared_slices([entry])
    except SliceSpecError as error:
        raise PinError(f"the segment cannot be declared: {error}") from None
    line = toml_value(entry)
    paste = f"[tool.mlgate]\nslices = [{line}]   # or add {line} to the slices you have"
    try:
        text = pyproject.read_text(encoding="utf-8")
        before = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return Pinned(entry, line, False, paste)
    mlgate = before.get("tool", {}).get("mlgate", {})
    expected = {**before, "tool": {**before.get("tool", {}),
                                   "mlgate": {**mlgate, "slices": [*mlgate.get("slices", []), entry]}}}
    for new in _appended(text, line):
        try:
            if tomllib.loads(new) != expected:
                continue
        except tomllib.TOMLDecodeError:
            continue
        pyproject.write_text(new, encoding="utf-8")
        return Pinned(entry, line, True)
    return Pinned(entry, line, False, paste)  # the file's shape was not one handled: nothing written
