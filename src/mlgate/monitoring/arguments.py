"""argparse types shared by the command lines of both servers (`mlgate serve`, the sidecar).

Each turns a string into a typed value at once, or an ArgumentTypeError that
argparse prints as a usage error naming the option.
"""

from __future__ import annotations

import argparse


def _number(text: str, kind: type, accepts, what: str):
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not accepts(value):
        raise argparse.ArgumentTypeError(f"must be {what}, not {text!r}")
    return value


def port_number(text: str) -> int:
    """1..65535. Port 0 ("any free port") is refused: a server's clients must know where it is."""
    return _number(text, int, lambda port: 0 < port < 65536, "a port number from 1 to 65535")


def positive_int(text: str) -> int:
    return _number(text, int, lambda value: value >= 1, "a whole number of at least 1")


def positive_seconds(text: str) -> float:
    return _number(text, float, lambda seconds: seconds > 0, "a number of seconds above 0")  # refuses nan
