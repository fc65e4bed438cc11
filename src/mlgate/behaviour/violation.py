"""What a broken behavioural claim raises: `BehaviourViolation`, first line naming claim, number and row."""

from __future__ import annotations


class BehaviourViolation(AssertionError):
    """A model broke a behavioural claim; the first line says how, on which row."""

    def __init__(self, message: str, claim: str = "", value: float | None = None) -> None:
        super().__init__(message)
        self.claim = claim  # which claim, when several are searched together
        self.value = value  # what was measured, when the claim measures a share


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""
