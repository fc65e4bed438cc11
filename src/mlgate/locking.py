"""An inter-process lock on a file: what lets sessions that start together share one folder.

`fcntl.flock` locks belong to the open file, so the kernel releases them when
the holder exits, however it exits (SIGKILL included): a lock file left behind
never blocks anyone. Local file systems only (flock over NFS is not reliable).
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

POLL_SECONDS = 0.01


class LockTimeout(TimeoutError):
    """Another process held the lock for longer than the caller would wait."""


@contextmanager
def exclusive(lock_file: Path, wait_seconds: float) -> Iterator[float]:
    """Hold an exclusive flock on `lock_file` (created if missing); yields how long it took to get it."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(lock_file, "a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - started > wait_seconds:
                    raise LockTimeout(f"another process has held {lock_file} for over {wait_seconds:.0f} s") from None
                time.sleep(POLL_SECONDS)
        try:
            yield time.monotonic() - started
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
