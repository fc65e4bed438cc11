"""The command that writes the generated reference pages."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlgate.reference.pages import write_all


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mlgate.reference", description="write mlgate's generated reference pages"
    )
    parser.add_argument("folder", nargs="?", default="docs/reference", help="where (default: docs/reference)")
    args = parser.parse_args(argv)
    for path in write_all(Path(args.folder)):
        print(f"wrote {path}")
