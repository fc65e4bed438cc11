"""The scoring server over real sockets: uvicorn on 127.0.0.1, httpx clients, the CLI as a subprocess.

Models are registered once per module into a store under the test's temporary
folder (tests/support/serving.py); each server under test loads its model
from there, as `mlgate serve` does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import statistics
import subprocess
import sys
import time
from importlib.metadata import version

import httpx
import pytest
from sklearn.datasets import load_breast_cancer

from mlgate.serving.app import create_app
from mlgate.serving.runner import running
from mlgate.tracking import load_servable
from tests.support.ports import free_port
from tests.support.processes import start_together
from tests.support.project import clean_env, copy_project
from tests.support.serving import mlflow_models_server, mlgate_server, register_model

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def cancer(tmp_path_factory):
    """The default project's model (100-tree forest, 30 doubles, 0/1 labels), crowned in its own store."""
    frame = load_breast_cancer(as_frame=True).frame
    return register_model(tmp_path_factory.mktemp("cancer"), frame, "target")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, mixed_frame):
    """A model on strings with gaps, a number and a flag, predicting string labels."""
    return register_model(tmp_path_factory.mktemp("mixed"), mixed_frame, "grade", model_name="mixed")


@pytest.fixture(scope="module")
def cancer_server(cancer):
    """Our app on the logged (not the in-memory) cancer model, served from a thread."""
    app = create_app(load_servable(cancer.model_uri, cancer.tracking_uri), cancer.settings)
    with running(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def mixed_server(mixed):
    app = create_app(load_servable(mixed.model_uri, mixed.tracking_uri), mixed.settings)
    with running(app) as url:
        yield url, app


def bodies(features) -> dict[str, tuple[bytes, str]]:
    """The same rows in every form the protocol has: name -> (body, content type)."""
    split = json.loads(features.to_json(orient="split", index=False))
    records = json.loads(features.to_json(orient="records"))
    columns = {k: [r[k] for r in records] for k in features.columns}
    as_json = {
        "dataframe_split": {"dataframe_split": split},
        "dataframe_records": {"dataframe_records": records},
        "instances": {"instances": records},
        "inputs": {"inputs": columns},
    }
    forms = {name: (json.dumps(doc).encode(), "application/json") for name, doc in as_json.items()}
    forms["csv"] = (features.to_csv(index=False).encode(), "text/csv")
    return forms


def predictions(url: str, body: bytes, content_type: str, client: httpx.Client | None = None) -> list:
    answer = (client or httpx).post(f"{url}/invocations", content=body, headers={"content-type": content_type})
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"]


@pytest.mark.parametrize("model", ["cancer", "mixed"])
def test_each_request_format_and_csv_equal_in_process_predict(model, request):
    """Our server answers with the compiled model; scikit-learn in process is the reference."""
    registered = request.getfixturevalue(model)
    assert load_servable(registered.model_uri, registered.tracking_uri).compiled is not None
    url, _ = request.getfixturevalue(f"{model}_server")
    features = registered.features.sample(25, random_state=1)
    expected = registered.model.predict(features).tolist()
    for form, (body, content_type) in bodies(features).items():
        assert predictions(url, body, content_type) == expected, form


def _good(features) -> bytes:
    return json.dumps({"dataframe_split": json.loads(features.head(1).to_json(orient="split", index=False))}).encode()


def _invocation(body, headers=JSON) -> dict:
    return {"method": "POST", "url": "/invocations", "content": body, "headers": headers}


def test_each_bad_input_gets_its_4xx_and_the_next_good_request_succeeds(cancer, cancer_server):
    url, _ = cancer_server
    good = _good(cancer.features)
    expected = cancer.model.predict(cancer.features.head(1)).tolist()
    one = json.loads(cancer.features.head(1).to_json(orient="records"))[0]

    without_radius = {k: v for k, v in one.items() if k != "mean radius"}

    def instances(row) -> bytes:
        return json.dumps({"instances": [row]}).encode()

    # name -> (request, status, words the message must contain)
    mistakes = {
        "malformed JSON": (_invocation(b'{"dataframe_split": '), 400, "not valid JSON"),
        "empty body": (_invocation(b""), 400, "empty"),
        "unknown format": (_invocation(b'{"rows": []}'), 400, "unknown key(s) ['rows']"),
        "several formats": (_invocation(json.dumps({"instances": [one], "inputs": [one]})), 400, "several format"),
        "missing column": (_invocation(instances(without_radius)), 400, "['mean radius']"),
        "extra column": (_invocation(instances({**one, "shoe size": 9})), 400, "['shoe size']"),
        "wrong type": (_invocation(instances({**one, "mean area": "large"})), 400, "column 'mean area' takes a number"),
        "wrong content type": (_invocation(good, {"content-type": "text/plain"}), 415, "text/plain"),
        "no content type": (_invocation(good, {}), 415, "no Content-Type"),
        "unknown path": ({"method": "GET", "url": "/predict"}, 404, "POST /invocations"),
        "wrong method": ({"method": "GET", "url": "/invocations"}, 405, "GET is not allowed"),
    }
    with httpx.Client(base_url=url) as client:
        for name, (request, status, words) in mistakes.items():
            answer = client.request(**request)
            assert answer.status_code == status, (name, answer.text)
            error = answer.json()
            assert set(error) == {"error_code", "message"} and words in error["message"], (name, error)
            assert predictions(url, good, "application/json", client) == expected, f"after {name}"


def test_a_body_over_the_limit_gets_413_and_the_connection_keeps_serving(cancer):
    settings = dataclasses.replace(cancer.settings, max_request_bytes=5_000)
    app = create_app(load_servable(cancer.model_uri, cancer.tracking_uri), settings)
    good = _good(cancer.features)
    huge = b'{"dataframe_split": ' + b" " * 200_000 + b"}"
    with running(app) as url, httpx.Client(base_url=url) as client:
        declared = client.post("/invocations", content=huge, headers=JSON)
        assert declared.status_code == 413 and "5000 bytes" in declared.json()["message"]
        assert client.post("/invocations", content=good, headers=JSON).status_code == 200
        # No Content-Length (chunked): the server counts as the body streams in.
        streamed = client.post(
            "/invocations", content=iter([huge[i : i + 4096] for i in range(0, len(huge), 4096)]), headers=JSON
        )
        assert streamed.status_code == 413
        assert client.post("/invocations", content=good, headers=JSON).status_code == 200


def test_ping_health_and_version_answer_as_mlflow_does(cancer_server):
    url, _ = cancer_server
    for path in ("/ping", "/health"):
        answer = httpx.get(url + path)
        assert (answer.status_code, answer.text) == (200, "\n")
    assert httpx.get(url + "/version").text == version("mlflow")


def test_micro_batched_answers_equal_one_by_one_under_concurrency(cancer, cancer_server):
    url, app = cancer_server
    batcher = app.state.batcher
    features = cancer.features.sample(120, random_state=2)
    # Requests of 1, 2 and 3 rows, each different; answered together, each must get its own.
    chunks, start = [], 0
    while start < len(features):
        size = 1 + len(chunks) % 3
        chunks.append(features.iloc[start : start + size])
        start += size
    expected = [cancer.model.predict(chunk).tolist() for chunk in chunks]
    calls, requests = batcher.calls, batcher.requests

    async def send_all():
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(base_url=url, limits=limits) as client:

            async def one(chunk):
                body = json.dumps({"dataframe_records": json.loads(chunk.to_json(orient="records"))})
                answer = await client.post("/invocations", content=body, headers=JSON)
                return answer.json()["predictions"]

            return await asyncio.gather(*(one(c) for c in chunks))

    assert asyncio.run(send_all()) == expected
    assert batcher.requests - requests == len(chunks)
    assert batcher.calls - calls < len(chunks), "no two requests were ever predicted together"


@pytest.fixture(scope="module")
def subprocess_servers(cancer, mixed, tmp_path_factory):
    """`mlflow models serve` on both models, and `mlgate serve` on the cancer champion
    with 1 and with 2 workers (from a project copy, as a user runs it); started together."""
    project = copy_project(tmp_path_factory.mktemp("cli") / "project")
    ports = {name: free_port() for name in ("mlflow-cancer", "mlflow-mixed", "mlgate-1", "mlgate-2")}
    servers = start_together([
        mlflow_models_server(cancer.tracking_uri, cancer.model_uri, ports["mlflow-cancer"], cwd=project.root),
        mlflow_models_server(mixed.tracking_uri, mixed.model_uri, ports["mlflow-mixed"], cwd=project.root),
        mlgate_server(cancer.tracking_uri, ports["mlgate-1"], "--workers", "1", cwd=project.root),
        mlgate_server(cancer.tracking_uri, ports["mlgate-2"], "--workers", "2", cwd=project.root),
    ])
    try:
        yield {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    finally:
        for server in servers:
            server.stop()


@pytest.mark.parametrize("model", ["cancer", "mixed"])
def test_predictions_equal_mlflow_models_serve(model, request, subprocess_servers):
    registered = request.getfixturevalue(model)
    url, _ = request.getfixturevalue(f"{model}_server")
    theirs_url = subprocess_servers[f"mlflow-{model}"]
    features = registered.features.sample(40, random_state=3)
    for form, (body, content_type) in bodies(features).items():
        theirs = httpx.post(f"{theirs_url}/invocations", content=body, headers={"content-type": content_type})
        assert theirs.status_code == 200, (form, theirs.text)
        assert predictions(url, body, content_type) == theirs.json()["predictions"], form


# --- the CLI ------------------------------------------------------------------------------


def test_a_model_that_cannot_be_loaded_stops_start_up_with_one_clear_message(tmp_path):
    project = copy_project(tmp_path / "project")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlgate",
            "serve",
            "--model-uri",
            "models:/no-such-model@champion",
            "--port",
            str(free_port()),
        ],
        cwd=project.root,
        env=clean_env(MLFLOW_TRACKING_URI=project.tracking_uri),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    message = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(message) == 1 and "cannot load model models:/no-such-model@champion" in message[0], done.stderr
    assert "Traceback" not in done.stderr


def _sample_value(metrics_text: str, name: str, **labels: str) -> float:
    wanted = "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    for line in metrics_text.splitlines():
        if line.startswith(name + wanted):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{wanted} is not in /metrics")


def test_two_workers_count_every_request_in_one_metrics_sum(cancer, subprocess_servers):
    url = subprocess_servers["mlgate-2"]
    body = _good(cancer.features)
    before = _sample_value(
        httpx.get(url + "/metrics").text, "mlgate_inference_requests_total", endpoint="/invocations", outcome="success"
    )
    sent = 0
    for _ in range(6):  # new connections, so both workers take some
        with httpx.Client(base_url=url) as client:
            for _ in range(5):
                assert client.post("/invocations", content=body, headers=JSON).status_code == 200
                sent += 1
    after = _sample_value(
        httpx.get(url + "/metrics").text, "mlgate_inference_requests_total", endpoint="/invocations", outcome="success"
    )
    assert after - before == sent


def test_two_workers_keep_alive_p50_carries_no_delayed_ack_over_one_worker(cancer, subprocess_servers):
    body = _good(cancer.features)
    latencies = {1: [], 2: []}
    with (
        httpx.Client(base_url=subprocess_servers["mlgate-1"]) as one,
        httpx.Client(base_url=subprocess_servers["mlgate-2"]) as two,
    ):
        clients = {1: one, 2: two}
        for client in clients.values():  # warm: connect, first predictions
            for _ in range(5):
                client.post("/invocations", content=body, headers=JSON)
        # Alternated, so load from other processes on this machine falls on both alike.
        for _ in range(120):
            for workers, client in clients.items():
                started = time.perf_counter()
                answer = client.post("/invocations", content=body, headers=JSON)
                latencies[workers].append(time.perf_counter() - started)
                assert answer.status_code == 200
    p50 = {w: statistics.median(v) for w, v in latencies.items()}
    # Without TCP_NODELAY each keep-alive request would wait ~40 ms for a delayed ACK; a 10 ms
    # margin tells that apart from the scheduling noise of two processes on a loaded machine.
    assert p50[2] - p50[1] < 0.010, f"p50 with 2 workers {p50[2] * 1e3:.2f} ms, with 1 worker {p50[1] * 1e3:.2f} ms"
