"""Run the scoring server with its metrics: one process, or N workers on one socket.

We bind the listening socket ourselves, with `proto=IPPROTO_TCP`. asyncio
turns TCP_NODELAY on for an accepted connection only when the socket reports
that protocol, and uvicorn's own `bind_socket` (the `--workers` path) leaves
it at 0, so every keep-alive request after the first waits ~40 ms on Nagle
and delayed ACKs (Kludex/uvicorn#3149). Accepted sockets inherit `proto`
from ours, in every worker.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def bind_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket whose accepted connections get TCP_NODELAY; OSError if the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def freeze_heap() -> None:
    """Collect once, then exempt everything loaded so far (model, libraries) from collection.

    A server that loaded its model through mlflow holds ~350,000 objects; a
    full collection walks them all, ~0.4 s on a 2-core machine, and lands on
    whichever request is running. Frozen, a collection walks only what was
    made since. Predictions allocate plenty, so full collections do happen.
    """
    gc.collect()
    gc.freeze()


def compose_app(servable, settings):
    """The served app: the scoring app inside the exporter's middleware, which answers /metrics."""
    # Imported here: the exporter reads PROMETHEUS_MULTIPROC_DIR, set just before workers start.
    from mlgate.serving.app import create_app
    from mlgate.monitoring.metrics import ServingMetrics, build_registry
    from mlgate.monitoring.middleware import instrument

    registry = build_registry()
    metrics = ServingMetrics(registry)
    metrics.set_model(servable)
    track_drift(metrics, servable, settings)
    app = create_app(servable, settings, on_predictions=metrics.observe_predictions)
    app = instrument(app, metrics, registry)
    freeze_heap()  # each worker calls this factory once, with its model loaded: nothing big comes later
    return app


def track_drift(metrics, servable, settings) -> None:
    """The drift gauges, when the served model carries a profile; each worker folds into a file of its own."""
    from mlgate.monitoring.drift_window import DriftWindow

    profile = getattr(servable, "drift_profile", None)
    if profile is None:
        return
    window = DriftWindow(
        profile,
        [name for name, _ in servable.input_schema],
        settings.drift_window_half_life_seconds,
        settings.drift_min_window_rows,
        folder=os.environ.get(MULTIPROC_ENV) if metrics.multiprocess else None,
    )
    metrics.track_drift(window)


def uvicorn_config(app, host: str, port: int, workers: int = 1, **options):
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=workers,
        # Requests are counted in /metrics; a log line each would cost more than the parsing.
        access_log=False,
        proxy_headers=False,
        **options,
    )


def run(servable, settings, host: str, port: int, workers: int = 1) -> None:
    """Serve `servable` until SIGINT/SIGTERM; each of `workers` processes builds its own app around it."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if workers == 1:
        app = compose_app(servable, settings)  # here, so its errors stop start-up before any socket opens
        uvicorn.Server(uvicorn_config(app, host, port)).run(sockets=[bind_socket(host, port)])
        return
    sock = bind_socket(host, port)
    # Workers are spawned and get their arguments pickled. A plain namespace spares each
    # one importing mlflow (ServableModel's module); Settings' mappingproxy cannot pickle.
    portable = SimpleNamespace(**vars(servable))
    settings = dataclasses.replace(settings, estimator_params=dict(settings.estimator_params))
    app_factory = functools.partial(compose_app, portable, settings)
    # Each worker counts into files here and /metrics sums them: Prometheus sees one server.
    with tempfile.TemporaryDirectory(prefix="mlgate-prometheus-") as folder:
        previous = os.environ.get(MULTIPROC_ENV)
        os.environ[MULTIPROC_ENV] = folder
        try:
            config = uvicorn_config(app_factory, host, port, workers=workers, factory=True)
            Multiprocess(config, sockets=[sock]).run()
        finally:
            if previous is None:
                os.environ.pop(MULTIPROC_ENV, None)
            else:
                os.environ[MULTIPROC_ENV] = previous
            sock.close()


@contextmanager
def running(app, host: str = "127.0.0.1", start_timeout_seconds: float = 10.0) -> Iterator[str]:
    """Serve `app` from a background thread on a free port; yields its base URL.

    For the perf gates and tests: a real uvicorn on a real socket, started in
    milliseconds and sharing the caller's in-memory model.
    """
    import uvicorn

    sock = bind_socket(host, 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, host, port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"mlgate-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_seconds
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the server on {host}:{port} did not start within {start_timeout_seconds}s")
        time.sleep(0.005)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def check_servable(servable) -> None:
    """Raise ValueError, naming the column, when the model's signature cannot be served."""
    from mlgate.serving.payload import InputSchema

    InputSchema.of(servable.input_schema, servable.required)
