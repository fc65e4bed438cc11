"""Why a pipeline step does not compile: `Unsupported`, whose message names the step."""

from __future__ import annotations


class Unsupported(Exception):
    """A pipeline step mlgate.compiler cannot translate; the message names the step."""


def step_label(path: str, step) -> str:
    return f"step '{path}' ({type(step).__name__})"

