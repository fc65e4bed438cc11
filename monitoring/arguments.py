"""argparse types shared by the command lines of both servers (`python -m model serve`, the sidecar).

Each turns a string into a typed value at once, or an ArgumentTypeError that
argparse prints as a usage error naming the option.
"""

from __future__ import annotations

import argparse


def port_number(text: str) -> int:
    """1..65535. Port 0 ("any free port") is refused: a server's clients must know where it is."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, not {text!r}")
    return port


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, not {text!r}")
    return seconds
