"""`mlgate slices pin`: a segment from the last gate report appended to `[tool.mlgate] slices`.

    mlgate slices pin "channel = phone"
    mlgate slices pin --from-report artifacts/gate_report.json --index 0
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlgate.settings_parse import SettingsError, read_table


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlgate slices", description="declared slices from what the gates found")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    pin = commands.add_parser("pin", help="append a segment of the gate report to [tool.mlgate] slices")
    pin.add_argument("segment", nargs="?", help='the segment as the report names it, e.g. "channel = phone"')
    pin.add_argument("--from-report", help="the gate report (default: <artifacts_dir>/gate_report.json)")
    pin.add_argument("--index", type=int, help="the segment's number in the report's slices section, from 0")
    pin.add_argument("--pyproject", default="pyproject.toml", help="the file to append to (default: pyproject.toml)")
    return parser


def _report_path(args: argparse.Namespace) -> Path:
    if args.from_report:
        return Path(args.from_report)
    table = read_table(Path(args.pyproject), required=False)
    return Path(str(table.get("artifacts_dir", "artifacts"))) / "gate_report.json"


def main(argv: list[str] | None = None) -> int:
    from mlgate.session.slice_pin import PinError, find_entry, pin_slice, read_report

    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.segment is None) == (args.index is None):
        parser.error("give the segment's name or --index N, not both")
    try:
        entry = find_entry(read_report(_report_path(args)), args.segment, args.index)
        pinned = pin_slice(Path(args.pyproject), entry)
    except (PinError, SettingsError) as error:
        parser.exit(2, f"mlgate slices pin: error: {error}\n")
    if pinned.written:
        print(f"appended {pinned.line} to [tool.mlgate] slices in {args.pyproject}")
    else:
        print(f"{args.pyproject} was not changed: its [tool.mlgate] slices could not be appended to safely. "
              f"Paste this into it:\n\n{pinned.paste}")
    return 0 if pinned.written else 1
