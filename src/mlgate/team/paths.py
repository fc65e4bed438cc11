"""A file or folder named once inside a state folder: `log = InFolder("postgres.log")` on a class with `folder`."""

from __future__ import annotations

from pathlib import Path


class InFolder:
    """Reads as `instance.folder / name`: the team server's files all live in its one state folder."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance, owner=None) -> Path:
        if instance is None:
            return self  # type: ignore[return-value]  # the class attribute itself, for introspection
        return instance.folder / self.name
