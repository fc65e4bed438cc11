"""Hardening of the scoring server: fuzzed bodies, oversized bodies, load, binding and model loading.

Every test here talks to `mlgate serve` as a subprocess (real uvicorn
on 127.0.0.1, real httpx clients), started once per module from a project copy
whose pyproject.toml lowers `max_request_bytes` to 1 MiB, so oversized bodies
stay cheap to send, and `max_discard_seconds` to 2 s, so a trickling client is
cut off soon. The fuzz test has two hypothesis profiles: a bounded one
for the suite, and a deep one selected with MLGATE_FUZZ_EXAMPLES=10000.
The load test is `slow` and lasts MLGATE_LOAD_SECONDS (default 60).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer

from mlgate import tracking
from mlgate.tracking import UntrustedModelError, load_skops_model
from tests.support.ports import free_port
from tests.support.project import clean_env, copy_project
from tests.support.serving import mlgate_server, register_model

JSON = {"content-type": "application/json"}
MAX_REQUEST_BYTES = 1024 * 1024
MAX_DISCARD_SECONDS = 2.0
FUZZ_CHECK_EVERY = 200  # a good request after this many fuzzed ones, and at the end

# The suite's profile keeps this test under a minute on 2 shared cores; the deep one is
# for a local run before a release: MLGATE_FUZZ_EXAMPLES=10000 pytest tests/integration/test_hardening.py -k fuzz
_FUZZ_COMMON = dict(
    deadline=None,
    database=None,  # examples from a previous run must not make this one differ
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
hypothesis_settings.register_profile("mlgate-fuzz", max_examples=2000, **_FUZZ_COMMON)
hypothesis_settings.register_profile(
    "mlgate-fuzz-deep", max_examples=int(os.environ.get("MLGATE_FUZZ_EXAMPLES") or 10_000), **_FUZZ_COMMON
)
FUZZ_PROFILE = "mlgate-fuzz-deep" if os.environ.get("MLGATE_FUZZ_EXAMPLES") else "mlgate-fuzz"


# --- the server under test ----------------------------------------------------------------


@pytest.fixture(scope="module")
def cancer(tmp_path_factory):
    """A small forest on the breast-cancer data (30 doubles, labels 0/1), crowned in its own store.

    20 trees rather than 100: the fuzz test sends thousands of requests and the
    claim is about the server, not the forest."""
    frame = load_breast_cancer(as_frame=True).frame
    return register_model(tmp_path_factory.mktemp("cancer"), frame, "target", estimator_params={"n_estimators": 20})


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project copy whose [tool.mlgate] lowers max_request_bytes and max_discard_seconds (the server reads its cwd's pyproject)."""
    project = copy_project(tmp_path_factory.mktemp("hardening") / "project")
    pyproject = project.root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert "max_request_bytes" not in text
    lowered = text.replace(
        "[tool.mlgate]\n",
        f"[tool.mlgate]\nmax_request_bytes = {MAX_REQUEST_BYTES}\nmax_discard_seconds = {MAX_DISCARD_SECONDS}\n",
        1,
    )
    pyproject.write_text(lowered, encoding="utf-8")
    return project


@pytest.fixture(scope="module")
def server(cancer, project):
    """`mlgate serve` on the cancer champion, one worker, no --host: (url, process)."""
    with mlgate_server(cancer.tracking_uri, free_port(), cwd=project.root) as server:
        yield server.url, server.process


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


@contextmanager
def peak_rss_growth(pid: int, every_seconds: float = 0.01):
    """Samples the process's RSS on a thread while the block runs; yields a dict whose "bytes" is the peak growth."""
    before = rss_bytes(pid)
    peak = {"bytes": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak["bytes"] = max(peak["bytes"], rss_bytes(pid) - before)
            done.wait(every_seconds)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()


def good_request(cancer, rows: int = 1, start: int = 0) -> tuple[bytes, list]:
    """A valid dataframe_split body and the labels the in-process model gives it."""
    features = cancer.features.iloc[start : start + rows]
    body = json.dumps({"dataframe_split": json.loads(features.to_json(orient="split", index=False))}).encode()
    return body, cancer.model.predict(features).tolist()


def assert_serves(client: httpx.Client, url: str, cancer, where: str) -> None:
    body, expected = good_request(cancer, rows=3, start=7)
    answer = client.post(f"{url}/invocations", content=body, headers=JSON)
    assert answer.status_code == 200, (where, answer.text)
    assert answer.json()["predictions"] == expected, where


# --- 1. fuzzed /invocations ---------------------------------------------------------------

HUGE = [1e308, -1e308, 2**63, -(2**63) - 1, 2**64, 10**30, 10**400, -(10**400), 5e-324, 1.7976931348623157e308]
# Raw JSON tokens spliced into an otherwise good body: some valid JSON, most not.
TOKENS = [
    "NaN", "-NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" + "0" * 400, "9" * 5000, "0x10", "1_000", "+1", ".5",
    "01", "nan", "inf", "null", "true", '"1.5"', "[]", "{}", "1e-999", "-0", "1.", "\"\\ud800\"",
]
CONTENT_TYPES = [
    None, "text/plain", "application/xml", "multipart/form-data; boundary=xyz", "application/json; charset=utf-8",
    "application/json; charset=latin-1", "application/json;charset=\"UTF-8\"", "application/json; format=pandas-split",
    "APPLICATION/JSON", "text/csv", "text/csv; charset=utf-8", "application/x-www-form-urlencoded", "*/*", "",
    "application/json; charset", "application/json;;", "application/json; charset=utf-8; charset=utf-16",
]


def fuzz_cases(names: list[str], good_body: bytes) -> st.SearchStrategy[tuple[bytes, str | None]]:
    """(body, content type) pairs: mostly near-valid JSON, so the fuzz reaches the schema check and the model."""
    leaf = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12), st.sampled_from(HUGE)
    )
    any_json = st.recursive(
        leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )
    number = st.one_of(st.floats(), st.integers(), st.sampled_from(HUGE), st.none())
    # Strings where numbers go, nested lists, objects: what a confused client sends in a cell.
    cell = st.one_of(
        number, number, number, leaf, st.lists(number, max_size=3), st.dictionaries(st.text(max_size=4), number, max_size=2)
    )
    name = st.one_of(st.sampled_from(names), st.text(max_size=12))  # unicode column names included
    columns = st.one_of(
        st.just(names), st.permutations(names), st.lists(name, max_size=34),
        st.lists(st.sampled_from(names), min_size=25, max_size=32),
    )

    def split(cols):
        row = st.one_of(st.lists(cell, min_size=len(cols), max_size=len(cols)), st.lists(cell, max_size=34), cell)
        data = st.one_of(st.lists(row, max_size=4), any_json)
        optional = {"index": any_json, "extra": any_json}
        return st.fixed_dictionaries({"columns": st.just(cols), "data": data}, optional=optional)

    record = st.one_of(
        # Every column, then maybe one dropped or unknown ones added.
        st.tuples(st.fixed_dictionaries({n: cell for n in names}), st.sets(st.sampled_from(names), max_size=2),
                  st.dictionaries(st.text(max_size=8), cell, max_size=2)).map(
            lambda t: {**{k: v for k, v in t[0].items() if k not in t[1]}, **t[2]}),
        st.dictionaries(name, cell, max_size=6),
    )
    # Right columns, rows of numbers: these reach the model, with NaN, infinities and huge values in them.
    sane = st.one_of(st.floats(-1e6, 1e6), st.integers(-(10**6), 10**6), st.none())
    sane_row = st.lists(sane, min_size=len(names), max_size=len(names))
    # ... and the same with one cell anything a number can be: NaN, infinities, 1e308, 10**400.
    odd_row = st.tuples(sane_row, st.integers(0, len(names) - 1), number).map(
        lambda t: [*t[0][: t[1]], t[2], *t[0][t[1] + 1 :]]
    )
    near_valid = st.lists(st.one_of(sane_row, odd_row), min_size=1, max_size=4).map(
        lambda rows: {"dataframe_split": {"columns": names, "data": rows}}
    )
    document = st.one_of(
        near_valid,
        near_valid,
        columns.flatmap(split).map(lambda s: {"dataframe_split": s}),
        st.builds(lambda key, rows: {key: rows}, st.sampled_from(["dataframe_records", "instances", "inputs"]),
                  st.lists(record, max_size=3)),
        st.builds(lambda key, value: {key: value},
                  st.sampled_from(["dataframe_records", "instances", "inputs", "dataframe_split"]), any_json),
        st.dictionaries(st.text(max_size=10), any_json, max_size=3),
        any_json,
    )
    # json.dumps writes NaN/Infinity tokens for non-finite floats, as pandas' to_json users meet them.
    json_body = document.map(lambda d: json.dumps(d, allow_nan=True).encode())
    row_of_tokens = st.lists(st.sampled_from(TOKENS), min_size=len(names), max_size=len(names)).map(
        lambda tokens: f'{{"dataframe_split": {{"columns": {json.dumps(names)}, "data": [[{", ".join(tokens)}]]}}}}'.encode()
    )
    truncated = st.integers(0, len(good_body) - 1).map(lambda n: good_body[:n])
    flipped = st.tuples(st.integers(0, len(good_body) - 1), st.integers(0, 255)).map(
        lambda t: good_body[: t[0]] + bytes([t[1]]) + good_body[t[0] + 1 :]
    )
    header = ",".join(f'"{n}"' for n in names) + "\n"
    csv_body = st.one_of(
        st.text(max_size=200).map(str.encode),
        st.lists(st.lists(st.sampled_from([*TOKENS, "", "1.5", "abc", '"', "\r", "\x00"]), max_size=32), max_size=3).map(
            lambda rows: (header + "\n".join(",".join(r) for r in rows)).encode()),
        st.binary(max_size=200).map(lambda b: header.encode() + b),
    )
    header_text = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40)
    any_type = st.one_of(st.sampled_from(CONTENT_TYPES), header_text)
    return st.one_of(
        st.tuples(json_body, st.just("application/json")),
        st.tuples(row_of_tokens, st.just("application/json")),
        st.tuples(st.one_of(truncated, flipped), st.sampled_from(["application/json", "text/csv"])),
        st.tuples(csv_body, st.just("text/csv")),
        st.tuples(st.binary(max_size=300), st.sampled_from(["application/json", "text/csv", None])),
        st.tuples(st.one_of(json_body, st.just(good_body), st.binary(max_size=50)), any_type),
    )


def test_fuzzed_invocations_never_get_a_5xx_and_the_server_keeps_answering(cancer, server):
    url, _ = server
    names = list(cancer.features.columns)
    good_body, _ = good_request(cancer)
    statuses: Counter[int] = Counter()
    started = time.monotonic()

    with httpx.Client(base_url=url, timeout=30) as client:  # one kept-alive connection throughout

        @hypothesis_settings(hypothesis_settings.get_profile(FUZZ_PROFILE))
        @given(case=fuzz_cases(names, good_body))
        def one(case):
            body, content_type = case
            headers = {} if content_type is None else {"content-type": content_type}
            answer = client.post("/invocations", content=body, headers=headers)
            statuses[answer.status_code] += 1
            assert answer.status_code < 500, (answer.status_code, answer.text, body[:500], content_type)
            if answer.status_code >= 400:
                error = answer.json()  # every refusal is JSON a client can show
                assert set(error) == {"error_code", "message"} and error["message"], (answer.status_code, error)
            if sum(statuses.values()) % FUZZ_CHECK_EVERY == 0:
                assert_serves(client, url, cancer, f"after {sum(statuses.values())} fuzzed requests")

        one()
        assert_serves(client, url, cancer, "after the fuzz")
    cases = sum(statuses.values())
    elapsed = time.monotonic() - started
    print(f"\nfuzz ({FUZZ_PROFILE}): {cases} cases in {elapsed:.1f}s, statuses {dict(sorted(statuses.items()))}")
    # At least as many requests as the profile's examples: hypothesis runs each at least once.
    assert cases >= hypothesis_settings.get_profile(FUZZ_PROFILE).max_examples
    # A fuzz that never reached the model, or never got refused, tested little.
    assert statuses[200] > 0 and any(400 <= s < 500 for s in statuses), dict(statuses)


# --- 2. oversized bodies ------------------------------------------------------------------


@pytest.mark.parametrize("declared", [True, False], ids=["with-content-length", "chunked"])
def test_an_oversized_streamed_body_gets_413_without_being_read_into_memory(cancer, server, declared):
    url, process = server
    chunk = b" " * 65536
    total = 50 * MAX_REQUEST_BYTES
    sent = 0

    def body():
        # A generator: the client never holds the body either, and we count what left.
        nonlocal sent
        yield b'{"dataframe_split": '
        while sent < total:
            sent += len(chunk)
            yield chunk

    headers = dict(JSON)
    if declared:
        headers["content-length"] = str(total + len(b'{"dataframe_split": '))
    before = rss_bytes(process.pid)
    with httpx.Client(base_url=url, timeout=60) as client:
        try:
            answer = client.post("/invocations", content=body(), headers=headers)
        except httpx.TransportError as error:  # the server hung up without answering
            pytest.fail(f"the client got no 413 but {error!r} after sending {sent} bytes")
        grown = rss_bytes(process.pid) - before
        assert answer.status_code == 413, answer.text
        assert answer.json()["error_code"] == "REQUEST_TOO_LARGE"
        # The server buffers at most the limit (1 MiB) and then stops reading: nowhere near 50 MiB.
        assert grown < 10 * MAX_REQUEST_BYTES, f"RSS grew by {grown / 2**20:.1f} MiB for a {total / 2**20:.0f} MiB body"
        how = "declared" if declared else "chunked"
        print(f"\n413 ({how}): client sent {sent / 2**20:.1f} MiB, server RSS grew {grown / 2**20:.2f} MiB")
    with httpx.Client(base_url=url) as client:
        assert_serves(client, url, cancer, "after a 413")


def post_then_read(client: str, url: str, body: bytes) -> tuple[int, dict]:
    """POST `body` with a client that writes all of it before reading a byte of the answer."""
    if client == "urllib":
        request = urllib.request.Request(f"{url}/invocations", data=body, headers=JSON, method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy from the environment
        try:
            with opener.open(request, timeout=120) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        connection.request("POST", "/invocations", body=body, headers=JSON)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


@pytest.mark.parametrize("client", ["urllib", "http.client"])
def test_a_client_that_sends_100_mb_before_reading_gets_the_413_with_its_json(cancer, server, client):
    url, process = server
    body = b'{"dataframe_split": ' + b" " * (100 * 1000 * 1000)
    started = time.monotonic()
    with peak_rss_growth(process.pid) as grown:
        try:
            status, error = post_then_read(client, url, body)
        except OSError as failure:  # the reset this test exists for
            pytest.fail(f"{client} got no 413 but {failure!r}")
    assert status == 413 and error["error_code"] == "REQUEST_TOO_LARGE", (status, error)
    assert f"{MAX_REQUEST_BYTES} bytes" in error["message"]
    # The rest of the body was read and dropped, not kept.
    assert grown["bytes"] < 10 * MAX_REQUEST_BYTES, f"RSS grew by {grown['bytes'] / 2**20:.1f} MiB"
    print(
        f"\n413 to {client} for {len(body) / 1e6:.0f} MB in {time.monotonic() - started:.2f} s, "
        f"server RSS peak growth {grown['bytes'] / 2**20:.2f} MiB"
    )
    with httpx.Client(base_url=url) as other:
        assert_serves(other, url, cancer, f"after the 413 to {client}")


def test_a_client_trickling_a_huge_body_is_cut_off_without_holding_the_server(cancer, server):
    """10 GB declared, 16 KiB sent every ~50 ms: answered 413 at once, closed after max_discard_seconds.

    Meanwhile another client is served by the same (single) worker, and the
    server's memory does not grow with what the trickler sends.
    """
    url, process = server
    parts = urllib.parse.urlsplit(url)
    chunk = b" " * 16384
    answer, sent, cut_off_after, served = b"", 0, None, 0
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock, httpx.Client(
        base_url=url, timeout=5
    ) as other, peak_rss_growth(process.pid) as grown:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: mlgate\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000000\r\n\r\n"
        )
        started = time.monotonic()
        sock.settimeout(0.05)  # the recv below paces the trickle
        while time.monotonic() - started < MAX_DISCARD_SECONDS + 15:
            try:
                sock.sendall(chunk)
                sent += len(chunk)
                received = sock.recv(65536)
            except TimeoutError:
                received = None
            except (BrokenPipeError, ConnectionResetError):
                cut_off_after = time.monotonic() - started
                break
            if received == b"":  # the server closed its side
                cut_off_after = time.monotonic() - started
                break
            answer += received or b""
            if served < 5 and time.monotonic() - started > 0.2 * (served + 1):
                assert_serves(other, url, cancer, "while a client trickles a body")
                served += 1
    head, _, json_body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert json.loads(json_body)["error_code"] == "REQUEST_TOO_LARGE"
    assert cut_off_after is not None, f"still connected after {MAX_DISCARD_SECONDS + 15} s"
    assert cut_off_after < MAX_DISCARD_SECONDS + 5, cut_off_after
    assert served == 5  # the one worker answered others throughout
    assert grown["bytes"] < 10 * MAX_REQUEST_BYTES, f"RSS grew by {grown['bytes'] / 2**20:.1f} MiB"
    print(
        f"\ntrickle: 413 received, cut off after {cut_off_after:.2f} s having sent {sent / 2**20:.2f} MiB; "
        f"{served} requests served meanwhile; server RSS peak growth {grown['bytes'] / 2**20:.2f} MiB"
    )
    with httpx.Client(base_url=url) as after:
        assert_serves(after, url, cancer, "after the trickler was cut off")


# --- 3. load -------------------------------------------------------------------------------


@pytest.mark.slow
def test_eight_clients_for_a_minute_get_no_errors_and_memory_stays_flat(cancer, server):
    url, process = server
    seconds = float(os.environ.get("MLGATE_LOAD_SECONDS") or 60)
    window = min(10.0, seconds / 3)  # the first and last 10 s of a minute; thirds of a shorter run
    requests = [good_request(cancer, rows=1 + i % 4, start=i * 5) for i in range(40)]
    latencies: list[float] = []
    errors: list[str] = []
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    lock = threading.Lock()

    def client_loop(offset: int) -> None:
        mine, failures = [], []
        with httpx.Client(base_url=url, timeout=30) as client:
            i = offset
            while not stop.is_set():
                body, expected = requests[i % len(requests)]
                i += 1
                start = time.perf_counter()
                try:
                    answer = client.post("/invocations", content=body, headers=JSON)
                    ok = answer.status_code == 200 and answer.json()["predictions"] == expected
                    if not ok:
                        failures.append(f"{answer.status_code} {answer.text[:200]}")
                except httpx.HTTPError as error:
                    failures.append(repr(error))
                mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)
            errors.extend(failures)

    def sample_rss() -> None:
        # Once a second, as the claim says: the mean of the first window against the last.
        begin = time.monotonic()
        while not stop.wait(1.0 - (time.monotonic() - begin) % 1.0):
            samples.append((time.monotonic() - begin, rss_bytes(process.pid)))

    threads = [threading.Thread(target=client_loop, args=(k * 5,)) for k in range(8)]
    threads.append(threading.Thread(target=sample_rss))
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    first = [rss for t, rss in samples if t <= window]
    last = [rss for t, rss in samples if t > seconds - window]
    growth = statistics.mean(last) / statistics.mean(first) - 1
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(
        f"\nload: {len(latencies)} requests in {seconds:.0f}s by 8 clients ({len(latencies) / seconds:.0f}/s), "
        f"p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, errors {len(errors)}; RSS first {window:.0f}s "
        f"{statistics.mean(first) / 2**20:.1f} MiB, last {window:.0f}s "
        f"{statistics.mean(last) / 2**20:.1f} MiB ({growth:+.2%})"
    )
    assert not errors, errors[:5]
    assert growth < 0.10, f"resident memory grew {growth:.1%} under load"


# --- 4. binding -----------------------------------------------------------------------------


def listening_addresses(port: int) -> set[str]:
    """Local addresses of sockets in LISTEN on `port`, from /proc/net/tcp and tcp6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: TCP_LISTEN
                found.add(address)
    return found


def test_the_server_listens_on_loopback_only_unless_told_otherwise(server):
    # The sidecar's default is checked in tests/integration/test_sidecar.py::test_sidecar_listens_on_loopback_by_default.
    url, _ = server
    port = int(url.rsplit(":", 1)[1])
    # 127.0.0.1 as /proc writes it: little-endian hex. Not 00000000 (0.0.0.0) nor any tcp6 socket.
    assert listening_addresses(port) == {"0100007F"}


# --- 5. the model named in a request is never loaded ------------------------------------------


def test_a_model_named_in_a_request_is_never_loaded_nor_its_path_touched(cancer, server, tmp_path):
    url, _ = server
    # A real model folder the request names: reading it would update its files' atime
    # (relatime updates an atime older than the mtime, which we set it to be).
    decoy = tmp_path / "decoy-model"
    shutil.copytree(model_folder(cancer), decoy)
    for path in decoy.rglob("*"):
        if path.is_file():
            stat = path.stat()
            os.utime(path, (stat.st_mtime - 3600, stat.st_mtime))
    atimes = {p: p.stat().st_atime for p in decoy.rglob("*") if p.is_file()}
    control = tmp_path / "control"
    control.write_bytes(b"x")
    os.utime(control, (control.stat().st_mtime - 3600, control.stat().st_mtime))
    control_atime = control.stat().st_atime
    control.read_bytes()
    if control.stat().st_atime == control_atime:
        pytest.skip("this filesystem does not update atime on read (noatime)")
    missing_store = tmp_path / "no-store"
    named = [
        str(decoy), decoy.as_uri(), "models:/decoy@champion", "runs:/0123456789abcdef/model",
        f"sqlite:///{missing_store / 'mlflow.db'}", str(missing_store),
    ]
    body, expected = good_request(cancer, rows=2)
    document = json.loads(body)
    with httpx.Client(base_url=url) as client:
        for uri in named:
            attempts = {
                "params": ({**document, "params": {"model_uri": uri, "path": uri}}, {}, {}),
                "header": (document, {"x-model-uri": uri, "x-mlflow-model-uri": uri, "mlflow-model": uri}, {}),
                "query": (document, {}, {"model_uri": uri, "model": uri}),
                "top-level key": ({**document, "model_uri": uri}, {}, {}),
            }
            for how, (doc, headers, query) in attempts.items():
                answer = client.post("/invocations", json=doc, headers=headers, params=query)
                # Either the loaded model's answer or a refusal; never another model's, never a 5xx.
                assert answer.status_code in (200, 400), (uri, how, answer.text)
                if answer.status_code == 200:
                    assert answer.json()["predictions"] == expected, (uri, how)
                else:
                    assert "model_uri" in answer.json()["message"], (uri, how)
    assert not missing_store.exists(), "a store named in a request was created"
    touched = [str(p) for p, atime in atimes.items() if p.stat().st_atime != atime]
    assert not touched, f"the server read files of a model named in a request: {touched}"


# --- 6. skops trusted types ------------------------------------------------------------------


def model_folder(cancer) -> Path:
    """The registered champion downloaded once (MLmodel, model.skops, ...), as `serve` downloads it."""
    folder = cancer.folder / "downloaded"
    if not folder.exists():
        tracking.download_model(cancer.model_uri, folder, cancer.tracking_uri)
    found = [p.parent for p in folder.rglob("MLmodel")]
    assert len(found) == 1, found
    return found[0]


def tampered_copy(cancer, destination: Path, extra_type: str) -> Path:
    """A copy of the registered model whose MLmodel also asks skops to trust `extra_type`."""
    folder = shutil.copytree(model_folder(cancer), destination)
    document = yaml.safe_load((folder / "MLmodel").read_text())
    flavor = document["flavors"]["sklearn"]
    flavor["skops_trusted_types"] = [*(flavor.get("skops_trusted_types") or []), extra_type]
    (folder / "MLmodel").write_text(yaml.safe_dump(document))
    return folder


def test_skops_loading_accepts_the_model_as_it_was_checked(cancer):
    model = load_skops_model(model_folder(cancer))
    assert model.predict(cancer.features.head(5)).tolist() == cancer.model.predict(cancer.features.head(5)).tolist()


@pytest.mark.parametrize("extra_type", ["builtins.eval", "os.system", "sklearnx.Evil", "numpyevil.load"])
def test_skops_loading_refuses_a_model_asking_to_trust_a_type_outside_the_allowlist(cancer, tmp_path, extra_type):
    folder = tampered_copy(cancer, tmp_path / "model", extra_type)
    with pytest.raises(UntrustedModelError, match=extra_type.replace(".", r"\.")):
        load_skops_model(folder)
    assert tracking.TRUSTED_TYPE_PREFIXES == ("sklearn.", "numpy.", "scipy.")


def test_serving_a_model_asking_to_trust_builtins_eval_exits_2_with_one_clear_line(cancer, project, tmp_path):
    folder = tampered_copy(cancer, tmp_path / "model", "builtins.eval")
    done = subprocess.run(
        [sys.executable, "-m", "mlgate", "serve", "--model-uri", str(folder), "--port", str(free_port())],
        cwd=project.root,
        env=clean_env(MLFLOW_TRACKING_URI=cancer.tracking_uri),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "builtins.eval" in errors[0] and "refused" in errors[0], done.stderr
    assert "Traceback" not in done.stderr
