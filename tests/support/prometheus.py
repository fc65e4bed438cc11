"""A real Prometheus for tests: started in a temporary folder, queried over HTTP, stopped.

    from tests.support.prometheus import running_prometheus

    with running_prometheus({"mlgate-server": ["127.0.0.1:8080"]}, rule_files=[alerts]) as prom:
        samples = prom.wait_for('up{job="mlgate-server"} == 1')

Scrapes and rule evaluations run every second, but the first scrape comes
about 5s after start: Prometheus hands new targets to its scrapers at most
every 5s, and Debian's 2.42 has no flag to shorten that. `wait_for` polls
past it. When the `prometheus` binary is not on PATH, the test that asks for
one is skipped, not failed: the harness is only as portable as Debian's
`prometheus` package.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.ports import free_port
from tests.support.processes import Server

INSTALL_HINT = "apt-get install -y prometheus"
LOG_TAIL_CHARS = 4000


class PrometheusError(RuntimeError):
    """Prometheus did not start, or answered a query with an error."""


@dataclass
class RunningPrometheus:
    """A started Prometheus: its base URL and a client for the HTTP API."""

    url: str
    workdir: Path
    process: subprocess.Popen[bytes]
    client: httpx.Client

    @property
    def log_path(self) -> Path:
        return self.workdir / "prometheus.log"

    def log_tail(self) -> str:
        """The end of Prometheus's own log, for failure messages."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL_CHARS:]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The result vector of an instant query (`/api/v1/query`); [] when nothing matches."""
        response = self.client.get("/api/v1/query", params={"query": expr})
        body = response.json()
        if response.status_code != 200 or body.get("status") != "success":
            raise PrometheusError(
                f"query {expr!r} failed ({response.status_code}): "
                f"{body.get('errorType')}: {body.get('error')}"
            )
        return body["data"]["result"]

    def wait_for(self, expr: str, timeout_seconds: float = 20.0) -> list[dict[str, Any]]:
        """Poll `expr` until it returns samples; the first scrape takes a scrape interval or two."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            result = self.query(expr)
            if result:
                return result
            if time.monotonic() > deadline:
                raise PrometheusError(
                    f"query {expr!r} returned nothing for {timeout_seconds}s; "
                    f"targets: {self.targets()}\n--- prometheus log ---\n{self.log_tail()}"
                )
            time.sleep(0.25)

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets with their health and last error (`/api/v1/targets`)."""
        body = self.client.get("/api/v1/targets").json()
        return [
            {key: target.get(key) for key in ("scrapePool", "scrapeUrl", "health", "lastError")}
            for target in body["data"]["activeTargets"]
        ]

    def rule_groups(self) -> list[dict[str, Any]]:
        """The loaded rule groups with each rule's health (`/api/v1/rules`)."""
        return self.client.get("/api/v1/rules").json()["data"]["groups"]


def write_config(
    path: Path,
    scrape_targets: Mapping[str, Sequence[str]],
    *,
    rule_files: Sequence[Path] = (),
    interval: str = "1s",
) -> Path:
    """A prometheus.yml scraping `job name -> ["host:port", ...]` at /metrics every `interval`."""
    config = {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": interval,
        },
        "rule_files": [str(Path(rule_file).resolve()) for rule_file in rule_files],
        "scrape_configs": [
            {
                "job_name": job,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": list(addresses)}],
            }
            for job, addresses in scrape_targets.items()
        ],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@contextmanager
def running_prometheus(
    scrape_targets: Mapping[str, Sequence[str]] | None = None,
    *,
    scrape_self: bool = False,
    rule_files: Sequence[Path] = (),
    workdir: Path | None = None,
    interval: str = "1s",
    startup_timeout_seconds: float = 30.0,
) -> Iterator[RunningPrometheus]:
    """A Prometheus on a free 127.0.0.1 port scraping `scrape_targets`, stopped on exit.

    `scrape_targets` maps a job name to "host:port" addresses (path /metrics).
    `scrape_self` adds job `prometheus` scraping this Prometheus; its port is
    only known here. `rule_files` are loaded as Prometheus would load them.
    Config, TSDB and log go to `workdir` (a fresh temporary folder if None).
    Skips the calling test when `prometheus` is not installed.
    """
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip(f"prometheus not found: {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="mlgate-prometheus-") as scratch:
        root = Path(workdir) if workdir is not None else Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        port = free_port()
        targets = {job: list(addresses) for job, addresses in (scrape_targets or {}).items()}
        if scrape_self:
            targets["prometheus"] = [f"127.0.0.1:{port}"]
        config = write_config(
            root / "prometheus.yml", targets, rule_files=rule_files, interval=interval
        )
        url = f"http://127.0.0.1:{port}"
        command = [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=info",
        ]
        server = Server(
            command, url, ready_path="/-/ready", cwd=root, log=root / "prometheus.log",
            start_timeout_seconds=startup_timeout_seconds, name="prometheus",
        )
        with server, httpx.Client(base_url=url, timeout=5.0) as client:
            yield RunningPrometheus(url=url, workdir=root, process=server.process, client=client)
