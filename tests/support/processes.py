"""Processes the tests start: started, waited on until ready, stopped, killed, in one place.

In the manner of mirakuru's `HTTPExecutor`: a `Server` is a command and the
URL it will answer on; `start()` launches it with its output in a log file,
`wait_until_ready()` polls a path until it answers 200 (failing at once, with
the log's tail, if the process dies first), `stop()` sends the stop signal and
kills whatever outlives the grace period, `kill()` sends SIGKILL. A server
started with `own_group=True` gets a process group of its own, so stopping it
stops the workers it forked too (`mlflow server`, `mlflow models serve`).

`wait_until` is the one polling loop every test uses, and `stop` the one
signal-wait-kill sequence, for processes that are not HTTP servers too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")
LOG_TAIL_CHARS = 3000


class ProcessError(AssertionError):
    """A process under test did not start, died early, or a condition never came true."""


def wait_until(
    condition: Callable[[], T],
    what: str,
    timeout_seconds: float,
    *,
    process: subprocess.Popen | None = None,
    poll_seconds: float = 0.1,
    log: Callable[[], str] = lambda: "",
) -> T:
    """Poll `condition()` until it is truthy and return its value; fail if `process` ends first or time runs out."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        found = condition()
        if found:
            return found
        if process is not None and process.poll() is not None:
            raise ProcessError(f"the process ended (exit {process.returncode}) before {what}\n{log()}")
        if time.monotonic() > deadline:
            raise ProcessError(f"timed out after {timeout_seconds}s waiting for {what}\n{log()}")
        time.sleep(poll_seconds)


def stop(
    process: subprocess.Popen,
    stop_signal: int | None = signal.SIGTERM,
    *,
    group: bool = False,
    timeout_seconds: float = 20,
) -> int:
    """Send `stop_signal` (None: let it finish on its own), wait, SIGKILL what is still running; the exit code."""

    def send(sig: int) -> None:
        try:
            os.killpg(process.pid, sig) if group else process.send_signal(sig)
        except ProcessLookupError:
            pass

    if process.poll() is None and stop_signal is not None:
        send(stop_signal)
    try:
        return process.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        return process.wait()


def answers(url: str, timeout_seconds: float = 2.0) -> bool:
    """True when `url` answers 200 now; False when nothing listens or it answers otherwise."""
    try:
        return httpx.get(url, timeout=timeout_seconds, trust_env=False).status_code == 200
    except httpx.TransportError:
        return False


_logs: tempfile.TemporaryDirectory | None = None


def _log_folder() -> str:
    """One folder for this test process's server logs, removed when the process exits.

    A log is read after its server stopped (a test asserts on what it printed),
    so it cannot go with the server; it must not outlive the suite in /tmp either.
    """
    global _logs
    if _logs is None:
        _logs = tempfile.TemporaryDirectory(prefix="mlgate-server-logs-")
    return _logs.name


class Server:
    """A command that serves HTTP at `url`, ready once `url + ready_path` answers 200.

    Use as a context manager (start, wait until ready, stop on exit) or call
    the steps yourself when a test steers the process.
    """

    def __init__(
        self,
        command: list[str],
        url: str,
        *,
        ready_path: str = "/ping",
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        log: Path | None = None,
        own_group: bool = False,
        stop_signal: int = signal.SIGTERM,
        start_timeout_seconds: float = 90,
        name: str | None = None,
    ):
        self.command, self.url, self.ready_path = command, url, ready_path
        self.cwd, self.env, self.own_group, self.stop_signal = cwd, env, own_group, stop_signal
        self.start_timeout_seconds = start_timeout_seconds
        self.name = name or Path(command[0]).name
        if log is None:
            handle, path = tempfile.mkstemp(prefix="mlgate-server-", suffix=".log", dir=_log_folder())
            os.close(handle)
            log = Path(path)
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=sink, stderr=subprocess.STDOUT,
                start_new_session=self.own_group,
            )
        return self

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def log_tail(self) -> str:
        return f"--- {self.name} log ---\n{self.output()[-LOG_TAIL_CHARS:]}"

    def answers(self) -> bool:
        return answers(self.url + self.ready_path)

    def wait_until_ready(self) -> Server:
        wait_until(
            self.answers, f"{self.name} answered {self.url}{self.ready_path}", self.start_timeout_seconds,
            process=self.process, log=self.log_tail,
        )
        return self

    def wait_until_refused(self, timeout_seconds: float = 15) -> None:
        """Until nothing answers at `url` any more: a stopped server drains before its port closes."""
        wait_until(lambda: not self.answers(), f"{self.url} to stop answering", timeout_seconds)

    def stop(self, timeout_seconds: float = 20) -> str:
        """Stop signal, then SIGKILL after `timeout_seconds`; the process's whole output."""
        if self.process is not None:
            stop(self.process, self.stop_signal, group=self.own_group, timeout_seconds=timeout_seconds)
        return self.output()

    def kill(self) -> None:
        if self.process is not None:
            stop(self.process, signal.SIGKILL, group=self.own_group)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> Server:
        self.start()
        try:
            return self.wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info) -> None:
        self.stop()


def start_together(servers: list[Server]) -> list[Server]:
    """Start every server, then wait for each: their imports overlap. All stopped if one fails."""
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_until_ready()
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers
