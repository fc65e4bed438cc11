"""`mlflow models serve` against mlgate's server on the same champion, driven by the same client.

Both servers run as subprocesses on 127.0.0.1. One client process sends
one-row `dataframe_split` requests over kept-alive connections: first one
client taking turns between an in-process `model.predict` (the floor) and
each server, then 8 concurrent clients on each server for a fixed time.
Ratios measured in the same run hold on a noisy machine even where the
absolute numbers do not.

    python benchmarks/serving.py [--model-uri URI] [--seconds 5] [--clients 8] [--workers 1]

Needs a champion (run `pytest gates/` first) and `mlflow` on PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from model.serving.latency import percentile
from model.serving.runner import bind_socket

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
# At most this many requests per phase: a fast server cannot make the run unbounded.
MAX_REQUESTS_PER_PHASE = 200_000
START_TIMEOUT_SECONDS = 120


@dataclass
class Phase:
    name: str
    latencies: list[float]
    seconds: float
    wrong: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else float("nan")

    def percentile(self, q: float) -> float:
        """q as a fraction, 0..1."""
        return percentile(self.latencies, q * 100)


# --- a lean keep-alive HTTP/1.1 client: its own cost must not hide the servers' ---------


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def post(self, request: bytes) -> bytes:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = head[9:12]
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length)
        if status != b"200":
            raise RuntimeError(f"HTTP {status.decode()}: {body[:300]!r}")
        return body

    def close(self) -> None:
        self.writer.close()


def http_request(payload: bytes) -> bytes:
    head = (
        "POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _drive(port: int, requests: list[tuple[bytes, object]], clients: int, seconds: float) -> Phase:
    connections = [await Connection.open(port) for _ in range(clients)]
    latencies: list[float] = []
    wrong = 0
    deadline = time.perf_counter() + seconds

    async def client(index: int, connection: Connection) -> None:
        nonlocal wrong
        i = index
        while time.perf_counter() < deadline and len(latencies) < MAX_REQUESTS_PER_PHASE:
            request, expected = requests[i % len(requests)]
            i += clients
            started = time.perf_counter()
            body = await connection.post(request)
            latencies.append(time.perf_counter() - started)
            if json.loads(body)["predictions"] != [expected]:
                wrong += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(i, c) for i, c in enumerate(connections)))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return Phase("", latencies, elapsed, wrong)


def drive(port: int, requests, clients: int, seconds: float, name: str) -> Phase:
    # Warm the server (and its model's caches) before the clock starts.
    asyncio.run(_drive(port, requests, clients, min(0.5, seconds)))
    phase = asyncio.run(_drive(port, requests, clients, seconds))
    phase.name = name
    return phase


async def _sequential(ports: dict[str, int], requests, model, frames, seconds: float) -> dict[str, Phase]:
    """One client, taking turns: in-process predict, then each server, the same row each turn.

    Turns spread the machine's other load over all of them alike, so the
    overheads above the in-process floor compare like with like.
    """
    connections = {name: await Connection.open(port) for name, port in ports.items()}
    latencies: dict[str, list[float]] = {"in-process predict": [], **{name: [] for name in ports}}
    wrong = dict.fromkeys(ports, 0)
    deadline = time.perf_counter() + seconds * (len(ports) + 1)
    i = 0
    while time.perf_counter() < deadline and i < MAX_REQUESTS_PER_PHASE:
        request, expected = requests[i % len(requests)]
        started = time.perf_counter()
        model.predict(frames[i % len(frames)])
        latencies["in-process predict"].append(time.perf_counter() - started)
        for name, connection in connections.items():
            started = time.perf_counter()
            body = await connection.post(request)
            latencies[name].append(time.perf_counter() - started)
            wrong[name] += json.loads(body)["predictions"] != [expected]
        i += 1
    for connection in connections.values():
        connection.close()
    return {name: Phase(name, values, sum(values), wrong.get(name, 0)) for name, values in latencies.items()}


def sequential(ports: dict[str, int], requests, model, frames, seconds: float) -> dict[str, Phase]:
    asyncio.run(_sequential(ports, requests, model, frames, min(0.5, seconds)))  # warm up
    return asyncio.run(_sequential(ports, requests, model, frames, seconds))


# --- the servers --------------------------------------------------------------------------


def start(command: list[str], port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{command[0]} exited with {process.returncode}; see {log}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"{' '.join(command)} did not answer /ping within {START_TIMEOUT_SECONDS}s; see {log}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- the run ------------------------------------------------------------------------------


def _row(name: str, phase: Phase, show_rate: bool = True) -> str:
    rate = f"{phase.rate:10.0f}" if show_rate else f"{'-':>10}"
    ms = [phase.percentile(q) * 1e3 for q in (0.5, 0.95, 0.99)]
    return f"| {name:<30} | {rate} | {ms[0]:7.2f} | {ms[1]:7.2f} | {ms[2]:7.2f} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/serving.py", description=__doc__.splitlines()[0])
    parser.add_argument("--model-uri", help="default: the champion from pyproject.toml's settings")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured phase (default 5)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients in the second phase (default 8)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes for both servers (default 1)")
    args = parser.parse_args(argv)

    from model.data import load_dataset
    from model.settings import load_settings
    from model.tracking import TrackingError, load_servable
    from model.training import as_model_input

    settings = load_settings(pyproject=ROOT / "pyproject.toml", workdir=ROOT)
    model_uri = args.model_uri or settings.champion_uri
    try:
        servable = load_servable(model_uri, settings.tracking_uri)
    except TrackingError as error:
        raise SystemExit(f"benchmarks/serving.py: {error}") from None
    features = as_model_input(load_dataset(settings.dataset, settings.target).features)
    features = features[[name for name, _ in servable.input_schema]].head(200)
    frames = [features.iloc[[i]] for i in range(len(features))]
    expected = servable.model.predict(features).tolist()
    requests = [
        (http_request(json.dumps({"dataframe_split": json.loads(f.to_json(orient="split", index=False))}).encode()), e)
        for f, e in zip(frames, expected, strict=True)
    ]

    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
    }
    logs = Path(os.environ.get("TMPDIR", "/tmp"))
    # Two ports nothing listens on, told apart by holding both sockets at once.
    with bind_socket("127.0.0.1", 0) as first, bind_socket("127.0.0.1", 0) as second:
        mlflow_port, mlgate_port = first.getsockname()[1], second.getsockname()[1]
    servers = {
        "mlflow models serve": (
            [
                str(VENV_BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                model_uri,
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(mlflow_port),
                "-w",
                str(args.workers),
            ],
            mlflow_port,
        ),
        "mlgate serve": (
            [
                sys.executable,
                "-m",
                "model",
                "serve",
                "--model-uri",
                model_uri,
                "--port",
                str(mlgate_port),
                "--workers",
                str(args.workers),
            ],
            mlgate_port,
        ),
    }
    processes = {}
    try:
        for name, (command, port) in servers.items():
            processes[name] = start(command, port, env, logs / f"bench-{port}.log")
        ports = {name: port for name, (_, port) in servers.items()}
        alone = sequential(ports, requests, servable.model, frames, args.seconds)
        together = {name: drive(port, requests, args.clients, args.seconds, name) for name, port in ports.items()}
    finally:
        for process in processes.values():
            stop(process)

    floor, mlflow_1, ours_1 = alone["in-process predict"], alone["mlflow models serve"], alone["mlgate serve"]
    mlflow_n, ours_n = together["mlflow models serve"], together["mlgate serve"]
    wrong = sum(p.wrong for p in [*alone.values(), *together.values()])
    floor_p50 = floor.percentile(0.5)
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; model {model_uri} ({servable.name} v{servable.version}); "
        f"{args.seconds:g}s per phase, {args.workers} worker(s)",
        "",
        f"| {'':<30} | {'requests/s':>10} | {'p50 ms':>7} | {'p95 ms':>7} | {'p99 ms':>7} |",
        f"| {'-' * 30} | {'-' * 10} | {'-' * 7} | {'-' * 7} | {'-' * 7} |",
        _row("in-process predict (1 row)", floor, show_rate=False),
        _row("mlflow models serve, 1 client", mlflow_1, show_rate=False),
        _row("mlgate serve, 1 client", ours_1, show_rate=False),
        _row(f"mlflow models serve, {args.clients} clients", mlflow_n),
        _row(f"mlgate serve, {args.clients} clients", ours_n),
    ]
    lines += [
        "",
        f"overhead above predict, p50, 1 client: mlflow {(mlflow_1.percentile(0.5) - floor_p50) * 1e3:.2f} ms, "
        f"mlgate {(ours_1.percentile(0.5) - floor_p50) * 1e3:.2f} ms (target <= 0.5 ms)",
        f"throughput with {args.clients} clients: mlgate / mlflow = {ours_n.rate / mlflow_n.rate:.1f}x (target >= 5x)",
        f"mlgate p99 with {args.clients} clients / mlflow p99 with 1 client = "
        f"{ours_n.percentile(0.99) / mlflow_1.percentile(0.99):.2f} (target <= 1)",
        f"answers that differed from in-process predict: {wrong}",
    ]
    print("\n".join(lines))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
