"""Versions a dead session left without a verdict: found, tagged abandoned (never deleted), reported.

A version is tagged `mlgate.verdict=gating` when it is registered, with the
session that registered it as "host pid start" (`this_session`): the start is
the process's start time in clock ticks since boot, from /proc, so a pid the
kernel has since handed to another process is not mistaken for the session.
Every later session looks at the versions still gating: on the same host the
answer is exact (the process with that pid and start time runs, or not); a
session on another host cannot be asked, so its version counts as abandoned
once it has been gating longer than `abandoned_after_seconds` (registration
to the alias move takes seconds). A version that holds `@champion` was crowned
by a session killed before its last tag: it is tagged promoted, not abandoned.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from mlgate.settings import Settings


@dataclass(frozen=True)
class Abandoned:
    version: str
    why: str


def _started(pid: int) -> str:
    """The process's start time in clock ticks since boot; "" where /proc cannot say (not Linux, gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""
    return stat.rpartition(")")[2].split()[19]  # field 22; the name before ")" may hold spaces


def this_session() -> str:
    return f"{socket.gethostname()} {os.getpid()} {_started(os.getpid())}"


def is_running(session: str) -> bool | None:
    """Whether the session named by `this_session()` still runs; None when it ran on another host."""
    host, _, rest = session.partition(" ")
    pid_text, _, started = rest.partition(" ")
    if host != socket.gethostname():
        return None
    if not pid_text.isdigit():
        return False  # not written by this_session: nobody can be gating it
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return not started or _started(pid) in ("", started)


def mark_abandoned(settings: Settings, client, now: float | None = None) -> list[Abandoned]:
    """Tag every version of the settings' model left gating by a session that no longer runs; what was tagged."""
    from mlgate import tracking

    now = time.time() if now is None else now
    champion = tracking.champion_version(settings, client)
    found = []
    for version in tracking.gating_versions(settings, client):
        number = str(version.version)
        if champion is not None and number == str(champion.version):
            tracking.tag_version(client, settings.model_name, number, {tracking.TAG_VERDICT: tracking.VERDICT_PROMOTED})
            continue
        session = version.tags.get(tracking.TAG_GATING_SESSION, "")
        running = is_running(session)
        gating_seconds = now - version.creation_timestamp / 1000
        if running is None and gating_seconds > settings.abandoned_after_seconds:
            why = (
                f"left gating {gating_seconds:.0f} s ago by session {session!r} on another host "
                f"(over abandoned_after_seconds = {settings.abandoned_after_seconds:g})"
            )
        elif running is False:
            why = f"left gating by session {session!r}, which is no longer running"
        else:
            continue
        tags = {tracking.TAG_VERDICT: tracking.VERDICT_ABANDONED, tracking.TAG_ABANDONED_BECAUSE: why}
        tracking.tag_version(client, settings.model_name, number, tags)
        found.append(Abandoned(number, why))
    return found
