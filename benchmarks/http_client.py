"""The benchmarks' HTTP client: lean keep-alive HTTP/1.1 over asyncio, so its own cost does not hide the servers'.

`drive` sends one-row requests from N concurrent clients for a fixed time;
`sequential` has one client take turns between in-process calls and servers,
so the machine's other load falls on all of them alike. Every answer is
checked against the expected prediction; latencies are per request.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from mlgate.serving.latency import percentile

# At most this many requests per phase: a fast server cannot make the run unbounded.
MAX_REQUESTS_PER_PHASE = 200_000


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



# A compiled regressor computes in double precision in another order of additions: within the
# parity gate's default relative tolerance (compiled_parity_rtol) it gives scikit-learn's value.
VALUE_RTOL = 1e-9


def same_answer(predictions: list, expected) -> bool:
    """One-row `predictions` equal to `expected`: labels exactly, a regressor's value within VALUE_RTOL."""
    if len(predictions) != 1:
        return False
    got = predictions[0]
    if isinstance(expected, float) and isinstance(got, int | float):
        return math.isclose(got, expected, rel_tol=VALUE_RTOL, abs_tol=VALUE_RTOL)
    return got == expected

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
            wrong += not same_answer(json.loads(body)["predictions"], expected)

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


async def _sequential(ports: dict[str, int], requests, floors: dict[str, Callable[[int], object]], seconds: float):
    """One client, taking turns: each in-process floor, then each server, the same row each turn.

    Turns spread the machine's other load over all of them alike, so the
    overheads above the in-process floors compare like with like.
    """
    connections = {name: await Connection.open(port) for name, port in ports.items()}
    latencies: dict[str, list[float]] = {name: [] for name in [*floors, *ports]}
    wrong = dict.fromkeys(ports, 0)
    deadline = time.perf_counter() + seconds * (len(ports) + len(floors))
    i = 0
    while time.perf_counter() < deadline and i < MAX_REQUESTS_PER_PHASE:
        request, expected = requests[i % len(requests)]
        for name, predict in floors.items():
            started = time.perf_counter()
            predict(i % len(requests))
            latencies[name].append(time.perf_counter() - started)
        for name, connection in connections.items():
            started = time.perf_counter()
            body = await connection.post(request)
            latencies[name].append(time.perf_counter() - started)
            wrong[name] += not same_answer(json.loads(body)["predictions"], expected)
        i += 1
    for connection in connections.values():
        connection.close()
    return {name: Phase(name, values, sum(values), wrong.get(name, 0)) for name, values in latencies.items()}


def sequential(ports: dict[str, int], requests, floors, seconds: float) -> dict[str, Phase]:
    asyncio.run(_sequential(ports, requests, floors, min(0.5, seconds)))  # warm up
    return asyncio.run(_sequential(ports, requests, floors, seconds))
