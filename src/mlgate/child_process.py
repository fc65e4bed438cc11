"""Ending a child process mlgate started: politely first, by force when it does not listen."""

from __future__ import annotations

import subprocess


def stop_child(process: subprocess.Popen, timeout_seconds: float) -> None:
    """SIGTERM, up to `timeout_seconds` to exit, then SIGKILL; returns once the process is reaped."""
    process.terminate()
    try:
        process.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
